import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SmbdBackend } from '../../../coordinator/backends/smbd-backend.js';
import { type MccConfig, parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { createLogger } from '../../../coordinator/log.js';
import { socketHolders } from '../../../coordinator/socket-holders.js';
import { listTcpSockets } from '../../../native/index.js';
import { negotiateChannel } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { freePort } from '../../harness/redis.js';
import { prepareSmbdState } from '../../harness/smbd.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

/**
 * With real smbd: a restarted mccd finds the smbd processes serving its recorded channels by their
 * sockets (inet_diag inode → /proc/PID/fd) and watches those channels again; one that ended while mccd
 * was down is dropped, and one that ends afterwards is noticed as before the restart.
 */
describePeer(
  'a restarted mccd takes back the channels smbd serves (smbd backend, inetd mode)',
  firstReason(notRoot(), missingPrograms('smbd', 'smbpasswd')),
  () => {
    let dir: string;
    let port: number;
    let config: MccConfig;
    let node: Coordinator | undefined;
    const smbdPids = new Set<number>();

    async function startNode(): Promise<Coordinator> {
      const c = new Coordinator(config, createLogger(config.log.level));
      await c.start();
      return c;
    }

    beforeAll(async () => {
      port = await freePort();
      dir = join('/tmp', `mcc-restart-smbd-${process.pid}`);
      rmSync(dir, { recursive: true, force: true });
      const { confPath } = await prepareSmbdState(dir, ['bind interfaces only = no', `smb ports = ${port}`]);
      config = parseConfig({
        listen: [{ address: '127.0.0.1', port }],
        api: { socket: join(dir, 'api.sock') },
        backend: { kind: 'smbd', config: confPath, logDir: join(dir, 'log') },
        cluster: { backend: 'single-node' },
        state: { writeIntervalMs: 20 },
        log: { level: process.env.MCC_TEST_LOG ?? 'fatal' },
      });
      node = await startNode();
    }, 60_000);

    afterAll(async () => {
      await node?.stop();
      for (const pid of smbdPids) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('kept channels are watched again; one that ended while mccd was down is dropped', async () => {
      const a = randomUUID();
      const b = randomUUID();
      const a1 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a });
      const b1 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: b });
      for (const pid of (node!.backend as SmbdBackend).pids()) smbdPids.add(pid);
      await waitFor('state written', 5000, () => (node!.stateWriter?.last?.clients === 2 ? true : undefined));
      await node!.stop();
      b1.socket.destroy(); // b's smbd ends with it while no mccd watches
      await waitFor('b closed in the kernel', 5000, () => (b1.socket.destroyed ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
      node = await startNode();
      expect(node.restore).toMatchObject({
        outcome: 'restored',
        clients: { restored: 2, kept: 1, dropped: 1 },
        dropped: { "channel gone from the kernel's socket table": 1 },
        unknownClosed: 0,
      });
      expect(a1.socket.destroyed).toBe(false);
      expect(node.registry.view(a)?.context.channels).toHaveLength(1);
      // What reconcile went by: the server side of a's channel is held by an smbd process.
      const server = listTcpSockets({ localPort: port }).find((s) => s.remotePort === a1.socket.localPort);
      expect(socketHolders([server!.inode]).get(server!.inode)?.comm).toBe('smbd');
      // The channel is watched again: its end reaches the client machine as before the restart.
      a1.socket.destroy();
      await waitFor(
        'a gone after its channel closed',
        10_000,
        () => (node!.registry.has(a) ? undefined : true),
        50,
      );
    });
  },
);
