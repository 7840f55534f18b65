import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { prepareSmbdState } from '../../../bench/smbd.js';
import type { SmbdBackend } from '../../../coordinator/backends/smbd-backend.js';
import { startTestMccd, type TestMccd } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { freePort } from '../../harness/redis.js';
import { smbclientArgs } from '../../harness/smbd.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

const execFileAsync = promisify(execFile);

describePeer(
  'smbd pool: pre-started inetd-mode smbd fed by fd handoff',
  firstReason(notRoot(), missingPrograms('smbd', 'smbclient', 'smbpasswd')),
  () => {
    let mccd: TestMccd | undefined;
    let conf = '';

    afterEach(async () => {
      const backend = mccd?.coordinator.backend as SmbdBackend | undefined;
      await mccd?.stop();
      for (const pid of backend?.pids() ?? []) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await execFileAsync('pkill', ['-f', `smbd -i -s ${conf}`]).catch(() => undefined);
      mccd = undefined;
    });

    async function start(pool: { size: number; startupTimeoutMs: number }) {
      const port = await freePort();
      const dir = join('/tmp', `mcc-smbd-pool-${process.pid}-${pool.size}-${pool.startupTimeoutMs}`);
      rmSync(dir, { recursive: true, force: true });
      const s = await prepareSmbdState(dir, ['bind interfaces only = no', 'change notify = no']);
      conf = s.confPath;
      mccd = await startTestMccd({
        listen: [{ address: '127.0.0.1', port }],
        backend: { kind: 'smbd', config: s.confPath, logDir: join(dir, 'log'), pool },
        negotiate: { timeoutMs: 5000, maxBytes: 65536 },
      });
      return { port, password: s.password, dir, backend: mccd.coordinator.backend as SmbdBackend };
    }

    const handoffs = async (path: string) => {
      const text =
        await mccd!.coordinator.metrics.registry.getSingleMetricAsString('mcc_smbd_handoffs_total');
      return Number(new RegExp(`path="${path}"} (\\d+)`).exec(text)?.[1] ?? 0);
    };

    it('smbclient put/get/ls go to pre-started members; the pool refills', async () => {
      const { port, password, dir, backend } = await start({ size: 4, startupTimeoutMs: 15_000 });
      await waitFor(
        '4 members ready',
        20_000,
        () => (backend.pool!.readyCount() === 4 ? true : undefined),
        50,
      );
      writeFileSync(join(dir, 'up.txt'), 'from the pool\n');
      for (let i = 0; i < 3; i++) {
        const { stdout } = await execFileAsync(
          'smbclient',
          [
            ...smbclientArgs({ port, conf, password }),
            '-c',
            `put ${join(dir, 'up.txt')} up${i}.txt; get up${i}.txt ${join(dir, `down${i}.txt`)}; ls`,
          ],
          { timeout: 30_000 },
        );
        expect(stdout).toMatch(new RegExp(`up${i}\\.txt`));
        expect(readFileSync(join(dir, `down${i}.txt`), 'utf8')).toBe('from the pool\n');
      }
      expect(await handoffs('pool')).toBe(3);
      expect(backend.spawned).toBe(0);
      await waitFor('pool refilled', 20_000, () => (backend.pool!.readyCount() === 4 ? true : undefined), 50);
    });

    it('a member that hangs during start-up is killed and replaced', async () => {
      // A stand-in that never reaches dup(0): the pool must notice and replace it, again and again.
      const hang = join('/tmp', `mcc-hanging-smbd-${process.pid}.sh`);
      writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
      const port = await freePort();
      const dir = join('/tmp', `mcc-smbd-pool-hang-${process.pid}`);
      rmSync(dir, { recursive: true, force: true });
      const s = await prepareSmbdState(dir, []);
      conf = s.confPath;
      mccd = await startTestMccd({
        listen: [{ address: '127.0.0.1', port }],
        backend: {
          kind: 'smbd',
          smbdPath: hang,
          config: s.confPath,
          logDir: join(dir, 'log'),
          pool: { size: 2, startupTimeoutMs: 300 },
        },
      });
      const backend = mccd.coordinator.backend as SmbdBackend;
      await waitFor(
        'hung members killed and replaced',
        10_000,
        () => (backend.pool!.failedStarts >= 4 ? true : undefined),
        50,
      );
      expect(backend.pool!.readyCount()).toBe(0);
      rmSync(hang, { force: true });
    });

    it('when no member is ready, connections fall back to a plain inetd spawn and are still served', async () => {
      const { port, backend } = await start({ size: 1, startupTimeoutMs: 15_000 });
      await waitFor(
        '1 member ready',
        20_000,
        () => (backend.pool!.readyCount() === 1 ? true : undefined),
        50,
      );
      const { negotiateChannel } = await import('../../harness/mccd.js');
      const { randomUUID } = await import('node:crypto');
      const chans = await Promise.all(
        [0, 1, 2].map(() => negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() })),
      );
      expect(chans.every((c) => c.dialect >= 0x0202)).toBe(true);
      expect(await handoffs('pool')).toBe(1);
      expect(await handoffs('pool-empty')).toBe(2);
      expect(backend.spawned).toBe(2);
      for (const c of chans) c.socket.destroy();
    });
  },
);
