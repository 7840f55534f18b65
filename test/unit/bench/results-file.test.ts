import { describe, expect, it } from 'vitest';
import { mergeResults } from '../../../bench/results-file.js';

const legacy = [
  '# Benchmark results',
  '',
  'Machine: 2 cores (old), Node v20',
  '',
  '## B2 teardown',
  '',
  'Measured by `npm run bench -- --only B2` on 2026-11-21T07:06:55.973Z.',
  '',
  '| a | b |',
  '',
  '## B3 statecharts',
  '',
  'Measured by `npm run bench` on 2026-11-21T06:52:04.478Z.',
  '',
].join('\n');

describe('RESULTS.md merge', () => {
  const stamp = {
    command: 'npm run bench -- --only B3',
    date: '2027-01-01T00:00:00.000Z',
    machine: '8 cores (new)',
  };
  const merged = mergeResults(legacy, [{ title: 'B3 statecharts', lines: ['fresh'] }], stamp);

  it('gives the fresh section its own command, date and machine, and drops the file-wide machine line', () => {
    expect(merged).toContain(
      '## B3 statecharts\n\nMeasured by `npm run bench -- --only B3` on 2027-01-01T00:00:00.000Z.\nMachine: 8 cores (new).\n\nfresh',
    );
    expect(merged.split('\n').filter((l) => l.startsWith('Machine: 2 cores'))).toHaveLength(0);
  });

  it('a kept section from an older file says its machine was not recorded by its run', () => {
    expect(merged).toContain(
      "on 2026-11-21T07:06:55.973Z.\nMachine: not recorded by this run (measured before each section carried its own); the file's single machine line then said: 2 cores (old), Node v20.",
    );
  });

  it('a section that has its own machine line keeps it on the next merge', () => {
    const again = mergeResults(merged, [{ title: 'B2 teardown', lines: ['new B2'] }], {
      ...stamp,
      machine: 'other',
    });
    expect(again).toContain('Machine: 8 cores (new).\n\nfresh');
    expect(again).toContain('Machine: other.\n\nnew B2');
  });
});
