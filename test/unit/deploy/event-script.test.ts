import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEventSink } from '../../harness/event-sink.js';
import { projectRoot } from '../../helpers/reference.js';

const script = join(projectRoot, 'deploy/ctdb/09.mcc.script');
const dir = mkdtempSync(join(tmpdir(), 'mcc-event-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Async, so an in-process sink can answer while the script runs. Resolves with the exit status. */
function run(args: string[], socket: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = execFile('/bin/sh', [script, ...args], {
      env: { PATH: process.env.PATH, MCC_SOCKET: socket },
      timeout: 10_000,
    });
    child.on('exit', (code) => resolve(code));
  });
}

describe('deploy/ctdb/09.mcc.script', () => {
  it('exits 0 when mccd is not there, for every event ctdb sends', async () => {
    for (const args of [
      ['releaseip', 'eth0', '10.0.0.1', '24'],
      ['takeip', 'eth0', '10.0.0.1', '24'],
      ['ipreallocated'],
      ['monitor'],
      ['startup'],
      [],
    ]) {
      expect(await run(args, join(dir, 'absent.sock')), args.join(' ')).toBe(0);
    }
  });

  it('posts the event and its arguments to mccd, and drops arguments that would break the JSON', async () => {
    const sink = await startEventSink(join(dir, 'api.sock'));
    expect(await run(['releaseip', 'eth0', '10.213.0.101', '24'], join(dir, 'api.sock'))).toBe(0);
    expect(await run(['updateip', 'eth0', 'eth1', 'fd00::5', '64'], join(dir, 'api.sock'))).toBe(0);
    expect(await run(['takeip', 'eth0', '1.2.3.4"}', '24'], join(dir, 'api.sock'))).toBe(0);
    await sink.close();
    expect(sink.events.map(({ event, args }) => ({ event, args }))).toEqual([
      { event: 'releaseip', args: ['eth0', '10.213.0.101', '24'] },
      { event: 'updateip', args: ['eth0', 'eth1', 'fd00::5', '64'] },
      { event: 'takeip', args: ['eth0', '24'] },
    ]);
  });
});
