import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { FailoverRun } from '../../failover/run.js';
import { ctdbAvailable } from '../../harness/ctdb-cluster.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

/**
 * The failover harness's short profile, run as an operator runs it (`npm run failover`): a 3-node ctdbd
 * cluster in namespaces with mccd and smbd on every node, simulated multi-channel clients and smbclient
 * sessions; moveip, kill -9 of a non-leader ctdbd, kill -9 of mccd. Any violated assertion fails CI.
 */
describePeer(
  'failover harness, short profile (npm run failover)',
  firstReason(
    notRoot(),
    missingPrograms(
      'ip',
      'ctdb',
      'smbd',
      'smbclient',
      'ethtool',
      'stdbuf',
      'ss',
      'pkill',
      'iptables',
      'curl',
      'systemd-socket-activate',
    ),
    ctdbAvailable(),
  ),
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-failover-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('every assertion holds in every scenario, and the report is written', async () => {
      const child = spawn(
        process.execPath,
        [join(projectRoot, 'dist/test/failover/main.js'), '--profile', 'short', '--json', '--report', dir],
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
          .join('\n')}\n`,
      );
      expect(code, stderr.slice(-3000)).toBe(0);
      const run = JSON.parse(stdout) as FailoverRun;
      expect(run.passed).toBe(true);
      expect(run.scenarios.map((s) => s.record.name)).toEqual([
        'moveip',
        'kill-ctdbd-non-leader',
        'restart-mccd',
      ]);
      for (const s of run.scenarios) {
        expect(s.result.violations).toEqual([]);
        // Each scenario really exercised something: some client was torn down and came back.
        expect(s.result.teardowns, s.record.name).toBeGreaterThan(0);
        expect(s.result.latencies.reconnectMs.length, s.record.name).toBeGreaterThan(0);
      }
      // The restarts really happened (twice), and cost no client a channel: restart-mccd's only
      // teardowns are its moveip's, so some clients stayed untouched through both.
      const restart = run.scenarios[2]!;
      expect(restart.record.mccdDown).toHaveLength(2);
      expect(restart.result.untouchedClients).toBeGreaterThan(0);
      expect(run.scenarios[0]!.result.untouchedClients).toBeGreaterThan(0);
      expect(run.totalMs).toBeLessThan(5 * 60_000);
      for (const f of ['report.md', 'report.html', 'moveip.svg', 'run.json'])
        expect(existsSync(join(dir, f)), f).toBe(true);
      expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('kill-ctdbd-non-leader: PASS');
    }, 360_000);
  },
);
