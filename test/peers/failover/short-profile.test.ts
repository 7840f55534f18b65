import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { FailoverRun } from '../../failover/run.js';
import { containerEngineReason } from '../../harness/container-engine.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer } from '../../helpers/skip.js';

/**
 * The failover harness's short profile, run as an operator runs it (`npm run failover`): a 3-node ctdbd
 * cluster of containers with mccd and clustered smbd on every node, simulated multi-channel clients and
 * smbclient sessions in a client container; moveip, kill -9 of a non-leader ctdbd, a ctdbd restart. And
 * the restart profile, also in containers, where every node runs mccd under systemd-socket-activate:
 * kill -9 and SIGTERM restarts of mccd under load. Any violated assertion fails CI.
 */
async function runProfile(profile: string, dir: string): Promise<FailoverRun> {
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'dist/test/failover/main.js'), '--profile', profile, '--json', '--report', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  process.stdout.write(
    `${stderr
      .split('\n')
      .filter((l) => !l.startsWith('[failover'))
      .join('\n')
      .slice(-4000)}\n`,
  );
  expect(code, stderr.slice(-3000)).toBe(0);
  return JSON.parse(stdout) as FailoverRun;
}

function expectExercised(run: FailoverRun): void {
  expect(run.passed).toBe(true);
  for (const s of run.scenarios) {
    expect(s.result.violations).toEqual([]);
    // Each scenario really exercised something: some client was torn down and came back.
    expect(s.result.teardowns, s.record.name).toBeGreaterThan(0);
    expect(s.result.latencies.reconnectMs.length, s.record.name).toBeGreaterThan(0);
  }
  expect(run.totalMs).toBeLessThan(5 * 60_000);
}

describePeer(
  'failover harness, short profile in containers (npm run failover)',
  containerEngineReason(),
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-failover-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('every assertion holds in every scenario, and the report is written', async () => {
      const run = await runProfile('short', dir);
      expectExercised(run);
      expect(run.platform).toContain('clustering = yes');
      expect(run.scenarios.map((s) => s.record.name)).toEqual([
        'moveip',
        'kill-ctdbd-non-leader',
        'restart-ctdbd',
      ]);
      expect(run.scenarios[0]!.result.untouchedClients).toBeGreaterThan(0);
      for (const f of ['report.md', 'report.html', 'moveip.svg', 'run.json'])
        expect(existsSync(join(dir, f)), f).toBe(true);
      expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('kill-ctdbd-non-leader: PASS');
    }, 360_000);
  },
);

describePeer(
  'failover harness, restart profile in containers (npm run failover -- --profile restart)',
  containerEngineReason(),
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-failover-restart-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('mccd restarts (kill -9, SIGTERM) cost no client a channel, and the moveip after them holds', async () => {
      const run = await runProfile('restart', dir);
      expectExercised(run);
      expect(run.platform).toContain('clustering = yes');
      // The restarts really happened (twice), and cost no client a channel: restart-mccd's only
      // teardowns are its moveip's, so some clients stayed untouched through both.
      const restart = run.scenarios[0]!;
      expect(restart.record.name).toBe('restart-mccd');
      expect(restart.record.mccdDown).toHaveLength(2);
      expect(restart.result.untouchedClients).toBeGreaterThan(0);
    }, 360_000);
  },
);
