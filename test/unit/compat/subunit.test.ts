import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparisonReport, summariseSuites } from '../../compat/report.js';
import { type Outcome, parseSubunit } from '../../compat/subunit.js';

describe('smbtorture subunit output', () => {
  it('reads outcomes, the first line of their details, and tests that never finished', () => {
    const text = [
      'time: 2026-11-25 17:00:00',
      'test: multichannel.generic.interface_info',
      'success: multichannel.generic.interface_info',
      'test: multichannel.oplocks.test2',
      'failure: multichannel.oplocks.test2 [',
      '',
      '../../source4/torture/smb2/multichannel.c:123: oplock break not received',
      'more detail',
      ']',
      'test: multichannel.bugs.bug_15346',
      'skip: multichannel.bugs.bug_15346 [',
      'needs a second interface',
      ']',
      'smbtorture chatter that is not subunit',
      'test: replay.replay-commands',
    ].join('\n');
    expect(parseSubunit(text)).toEqual({
      results: [
        { name: 'multichannel.generic.interface_info', outcome: 'success', reason: '' },
        {
          name: 'multichannel.oplocks.test2',
          outcome: 'failure',
          reason: '../../source4/torture/smb2/multichannel.c:123: oplock break not received',
        },
        { name: 'multichannel.bugs.bug_15346', outcome: 'skip', reason: 'needs a second interface' },
      ],
      unfinished: ['replay.replay-commands'],
    });
  });

  const outcomes: Outcome[] = ['success', 'failure', 'error', 'skip', 'xfail', 'uxsuccess'];
  const name = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,30}$/);

  it('any text parses without throwing, and every result names a test', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const p = parseSubunit(text);
        for (const r of p.results) expect(r.name.length).toBeGreaterThan(0);
      }),
    );
  });

  it('a stream written from results reads back as those results', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name,
            outcome: fc.constantFrom(...outcomes),
            reason: fc.stringMatching(/^[a-zA-Z0-9 :./_-]{0,40}$/).map((s) => s.trim()),
          }),
          { maxLength: 20 },
        ),
        (results) => {
          const text = results
            .map((r) => `test: ${r.name}\n${r.outcome}: ${r.name}${r.reason ? ` [\n${r.reason}\n]` : ''}`)
            .join('\n');
          expect(parseSubunit(text).results).toEqual(results);
        },
      ),
    );
  });
});

describe('comparison report', () => {
  const run = (label: string, outcomes: Record<string, Outcome>) => ({
    label,
    ms: 1000,
    parse: {
      results: Object.entries(outcomes).map(([name, outcome]) => ({ name, outcome, reason: '' })),
      unfinished: [],
    },
  });
  const base = {
    suites: ['smb2.multichannel'],
    command: 'npm run smbtorture-compare',
    setup: 'test',
    totalMs: 3000,
  };

  it('lists the tests whose pass/fail differs between runs, and says so in numbers', () => {
    const text = comparisonReport({
      ...base,
      runs: [
        run('own', { a: 'success', b: 'failure', c: 'skip' }),
        run('mccd', { a: 'failure', b: 'failure', c: 'skip' }),
      ],
    });
    expect(text).toContain('1 of 3 tests pass in one run and not in another');
    expect(text).toMatch(/\| `a` \| success \| failure \|/);
  });

  it('says the runs agree only when they do', () => {
    const text = comparisonReport({
      ...base,
      runs: [run('own', { a: 'success', b: 'failure' }), run('mccd', { a: 'success', b: 'failure' })],
    });
    expect(text).toContain('All 2 tests have the same pass/fail outcome in every run.');
  });

  it('names a family of suites once, with its size', () => {
    expect(
      summariseSuites([
        'smb2.multichannel',
        'smb2.session.bind1',
        'smb2.session.bind2',
        'smb2.session.bind_negative_smb202',
        'smb2.replay',
      ]),
    ).toBe('`smb2.multichannel`, `smb2.session.bind*` (3 suites), `smb2.replay`');
  });

  it('says nothing was compared when nothing ran', () => {
    const text = comparisonReport({ ...base, runs: [run('own', {}), run('mccd', {})] });
    expect(text).toContain('No test produced a result in any run');
  });
});
