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
 * smbclient sessions in a client container; moveip, kill -9 of a non-leader ctdbd, kill -9 of mccd. Any
 * violated assertion fails CI.
 */
describePeer(
  'failover harness, short profile in containers (npm run failover)',
  containerEngineReason(),
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
      expect(run.platform).toContain('clustering = yes');
      expect(run.scenarios.map((s) => s.record.name)).toEqual([
        'moveip',
        'kill-ctdbd-non-leader',
        'kill-mccd',
      ]);
      for (const s of run.scenarios) {
        expect(s.result.violations).toEqual([]);
        // Each scenario really exercised something: some client was torn down and came back.
        expect(s.result.teardowns, s.record.name).toBeGreaterThan(0);
        expect(s.result.latencies.reconnectMs.length, s.record.name).toBeGreaterThan(0);
      }
      expect(run.scenarios[0]!.result.untouchedClients).toBeGreaterThan(0);
      expect(run.totalMs).toBeLessThan(5 * 60_000);
      for (const f of ['report.md', 'report.html', 'moveip.svg', 'run.json'])
        expect(existsSync(join(dir, f)), f).toBe(true);
      expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('kill-ctdbd-non-leader: PASS');
    }, 360_000);
  },
);
