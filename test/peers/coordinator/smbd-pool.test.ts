import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  firstReason(notRoot(), missingPrograms('smbd', 'smbclient', 'smbpasswd', 'ss', 'pkill')),
  () => {
    let mccd: TestMccd | undefined;
    let conf = '';
    let stateDir = '';

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
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
      mccd = undefined;
    });

    async function start(pool: { size: number; startupTimeoutMs: number }, smbdPath?: string) {
      const port = await freePort();
      const dir = join('/tmp', `mcc-smbd-pool-${process.pid}-${pool.size}-${pool.startupTimeoutMs}`);
      rmSync(dir, { recursive: true, force: true });
      stateDir = dir;
      const s = await prepareSmbdState(dir, ['bind interfaces only = no']);
      conf = s.confPath;
      mccd = await startTestMccd({
        listen: [{ address: '127.0.0.1', port }],
        backend: {
          kind: 'smbd',
          ...(smbdPath ? { smbdPath } : {}),
          config: s.confPath,
          logDir: join(dir, 'log'),
          pool,
        },
        negotiate: { timeoutMs: 5000, maxBytes: 65536 },
      });
      return { port, password: s.password, dir, backend: mccd.coordinator.backend as SmbdBackend };
    }

    const handoffs = async (path: string) => {
      const text =
        await mccd!.coordinator.metrics.registry.getSingleMetricAsString('mcc_smbd_handoffs_total');
      return Number(new RegExp(`path="${path}"} (\\d+)`).exec(text)?.[1] ?? 0);
    };

    const failures = async () => {
      const text = await mccd!.coordinator.metrics.registry.getSingleMetricAsString(
        'mcc_smbd_pool_failures_total',
      );
      return Number(/mcc_smbd_pool_failures_total (\d+)/.exec(text)?.[1] ?? 0);
    };

    /** The pid of the process holding the server side of the client connection from this local port. */
    const serverPid = (clientPort: number): number => {
      const out = execFileSync('ss', ['-Htnp', 'state', 'established', `dport = :${clientPort}`], {
        encoding: 'utf8',
      });
      const pid = /pid=(\d+)/.exec(out)?.[1];
      if (!pid) throw new Error(`no process holds the server side of :${clientPort}: ${out}`);
      return Number(pid);
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

    it('a zygote that hangs during start-up is killed and replaced; connections fall back to a plain inetd spawn', async () => {
      // A stand-in that never reaches dup(0) as a zygote but is a real smbd otherwise: the pool must notice
      // and replace it again and again, and connections meanwhile must still be served by spawned smbds.
      const hang = join('/tmp', `mcc-hanging-smbd-${process.pid}.sh`);
      writeFileSync(
        hang,
        '#!/bin/sh\nif [ "$MCC_INETD_HANDOFF" = zygote ]; then exec sleep 30; fi\nexec /usr/sbin/smbd "$@"\n',
        { mode: 0o755 },
      );
      const { port, backend } = await start({ size: 2, startupTimeoutMs: 300 }, hang);
      await waitFor(
        'hung zygotes killed and replaced',
        10_000,
        () => (backend.pool!.failedStarts >= 3 ? true : undefined),
        50,
      );
      expect(backend.pool!.readyCount()).toBe(0);
      expect(backend.pool!.zygoteStarts).toBeGreaterThanOrEqual(3);
      const { negotiateChannel } = await import('../../harness/mccd.js');
      const { randomUUID } = await import('node:crypto');
      const chans = await Promise.all(
        [0, 1].map(() => negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() })),
      );
      expect(chans.every((c) => c.dialect >= 0x0202)).toBe(true);
      expect(await handoffs('pool-empty')).toBe(2);
      expect(backend.spawned).toBe(2);
      expect(await failures()).toBeGreaterThanOrEqual(3);
      for (const c of chans) c.socket.destroy();
      rmSync(hang, { force: true });
    });

    it('a storm larger than the pool is served by members forked on demand, not by spawns', async () => {
      const { port, backend } = await start({ size: 2, startupTimeoutMs: 15_000 });
      await waitFor(
        '2 members ready',
        20_000,
        () => (backend.pool!.readyCount() === 2 ? true : undefined),
        50,
      );
      const zygote = backend.pool!.zygotePid();
      const { negotiateChannel } = await import('../../harness/mccd.js');
      const { randomUUID } = await import('node:crypto');
      const chans = await Promise.all(
        Array.from({ length: 12 }, () =>
          negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() }),
        ),
      );
      expect(chans.every((c) => c.dialect >= 0x0202)).toBe(true);
      expect(await handoffs('pool')).toBe(12);
      expect(backend.spawned).toBe(0);
      // Each client is served by its own process, none of them the zygote, which stays up.
      const servers = new Set(chans.map((c) => serverPid(c.socket.localPort!)));
      expect(servers.size).toBe(12);
      expect(servers.has(zygote!)).toBe(false);
      expect(backend.pool!.zygotePid()).toBe(zygote);
      for (const c of chans) c.socket.destroy();
    });

    it('a zygote that is not the notify daemon steps aside until the name is free', async () => {
      // An `smbd -i` spawned earlier (as mccd does when no pool is up) holds the notify daemon name. A
      // zygote that started anyway would fork members whose every tree connect fails once that smbd
      // exits (notify_init finds no daemon: NT_STATUS_NO_MEMORY).
      const port = await freePort();
      const dir = join('/tmp', `mcc-smbd-pool-notify-${process.pid}`);
      rmSync(dir, { recursive: true, force: true });
      stateDir = dir;
      const s = await prepareSmbdState(dir, ['bind interfaces only = no']);
      conf = s.confPath;
      // smbd in inetd mode needs a TCP peer on fd 0 (it asks for the remote address).
      const { createServer, connect } = await import('node:net');
      const listener = createServer();
      await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
      const accepted = new Promise<import('node:net').Socket>((r) => listener.once('connection', r));
      const peer = connect((listener.address() as { port: number }).port, '127.0.0.1');
      const serverSide = await accepted;
      const holder = spawn('/usr/sbin/smbd', ['-i', '-s', conf], { stdio: [serverSide, 'ignore', 'ignore'] });
      try {
        await new Promise((r) => setTimeout(r, 1500)); // its start-up, notify daemon included
        mccd = await startTestMccd({
          listen: [{ address: '127.0.0.1', port }],
          backend: {
            kind: 'smbd',
            config: conf,
            logDir: join(dir, 'log'),
            pool: { size: 2, startupTimeoutMs: 15_000 },
          },
        });
        const backend = mccd.coordinator.backend as SmbdBackend;
        await waitFor(
          'a zygote refused',
          20_000,
          () => (backend.pool!.failedStarts >= 1 ? true : undefined),
          50,
        );
        expect(backend.pool!.readyCount()).toBe(0);
        expect(readFileSync(join(dir, 'log', 'smbd-pool.log'), 'utf8')).toMatch(
          /the notify daemon is not this smbd/,
        );
      } finally {
        holder.kill('SIGKILL');
        peer.destroy();
        serverSide.destroy();
        listener.close();
      }
      const backend = mccd.coordinator.backend as SmbdBackend;
      await waitFor('members ready', 30_000, () => (backend.pool!.readyCount() === 2 ? true : undefined), 50);
      const { stdout } = await execFileAsync(
        'smbclient',
        [...smbclientArgs({ port, conf, password: s.password }), '-c', 'ls'],
        { timeout: 30_000 },
      );
      expect(stdout).toMatch(/blocks of size/);
      expect(await handoffs('pool')).toBe(1);
    });

    it('a member killed while serving a client is reported to cleanupd, as smbd reports its children', async () => {
      const { port, dir, backend } = await start({ size: 2, startupTimeoutMs: 15_000 });
      await waitFor(
        '2 members ready',
        20_000,
        () => (backend.pool!.readyCount() === 2 ? true : undefined),
        50,
      );
      const { negotiateChannel } = await import('../../harness/mccd.js');
      const { randomUUID } = await import('node:crypto');
      const held = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() });
      const member = serverPid(held.socket.localPort!);
      // Every smbd process has a messaging socket and lock file named by its pid; cleanupd removes them
      // for a child its parent reports (messaging_cleanup). Nobody else does.
      const traces = () =>
        ['msg.sock', 'msg.lock'].filter((d) => existsSync(join(dir, 'state/lock', d, String(member))));
      expect(traces()).toEqual(['msg.sock', 'msg.lock']);
      process.kill(member, 'SIGKILL');
      await waitFor(
        `the killed member ${member}'s messaging files removed by cleanupd`,
        10_000,
        () => (traces().length === 0 ? true : undefined),
        50,
      ).catch((e: Error) => {
        throw new Error(`${e.message}: still there: ${traces().join(', ')}`);
      });
      held.socket.destroy();
    });

    it('members outlive a killed zygote; a new zygote takes over', async () => {
      const { port, password, backend } = await start({ size: 2, startupTimeoutMs: 15_000 });
      await waitFor(
        '2 members ready',
        20_000,
        () => (backend.pool!.readyCount() === 2 ? true : undefined),
        50,
      );
      const first = backend.pool!.zygotePid()!;
      const { negotiateChannel } = await import('../../harness/mccd.js');
      const { randomUUID } = await import('node:crypto');
      const held = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() });
      const holder = serverPid(held.socket.localPort!);
      process.kill(first, 'SIGKILL');
      await waitFor(
        'a new zygote',
        20_000,
        () => {
          const z = backend.pool!.zygotePid();
          return z !== undefined && z !== first ? true : undefined;
        },
        50,
      );
      expect(() => process.kill(holder, 0)).not.toThrow();
      expect(held.socket.destroyed).toBe(false);
      held.socket.destroy();
      const { stdout } = await execFileAsync(
        'smbclient',
        [...smbclientArgs({ port, conf, password }), '-c', 'ls'],
        {
          timeout: 30_000,
        },
      );
      expect(stdout).toMatch(/blocks of size/);
    });
  },
);
