import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiGet } from '../../../cli/api-client.js';
import type { StatusAnswer } from '../../../coordinator/api.js';
import { listTcpSockets } from '../../../native/index.js';
import {
  buildNegotiateRequest,
  echoRequestPush,
  echoResponsePull,
  FrameReader,
  frame,
  negotiateResponsePull,
} from '../../../wire/index.js';
import { killAndWait } from '../../harness/cluster-mccd.js';
import { negotiateChannel, startWorker } from '../../harness/mccd.js';
import { pidAlive, waitFor } from '../../harness/netns.js';
import { freePort } from '../../harness/redis.js';
import { type SocketEnd, watchEnd } from '../../harness/socket-end.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';

/**
 * mccd under the real `systemd-socket-activate` (Debian's systemd package): it binds the front door,
 * execs a supervisor at the first connection, and the supervisor (bash, holding the sockets as systemd's
 * mccd.socket does) starts mccd again whenever it exits, the way Restart= does. What a restart must
 * not do: refuse a client that connects meanwhile, or end a channel of a client mccd had.
 */
describePeer(
  'mccd restarts behind a socket-activated front door (systemd-socket-activate)',
  missingPrograms('systemd-socket-activate', 'bash'),
  () => {
    let dir: string;
    let port: number;
    let supervisor: ChildProcess | undefined;
    let worker: ChildProcess | undefined;
    const open: Socket[] = [];
    const api = () => ({ socketPath: join(dir, 'api.sock') });
    const mccdPid = () => Number(readFileSync(join(dir, 'mccd.pid'), 'utf8'));

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcc-activation-'));
      port = await freePort();
      writeFileSync(
        join(dir, 'mccd.json'),
        JSON.stringify({
          listen: [{ address: '127.0.0.1', port }],
          api: { socket: join(dir, 'api.sock') },
          backend: { kind: 'worker', socket: join(dir, 'workers.sock'), teardownAckMs: 1000 },
          cluster: { backend: 'single-node' },
          state: { writeIntervalMs: 50, ownerWaitMs: 5000 },
          log: { level: 'info' },
        }),
      );
      writeFileSync(join(dir, 'go'), '');
      // LISTEN_PID names the process the sockets are for: the subshell that execs node keeps its pid.
      const loop = [
        `while [ -e ${dir}/go ]; do`,
        `  (echo $BASHPID > ${dir}/mccd.pid; export LISTEN_PID=$BASHPID;`,
        `   exec ${process.execPath} ${join(projectRoot, 'dist/cli/mccd.js')} -c ${dir}/mccd.json) >> ${dir}/mccd.log 2>&1`,
        `  while [ -e ${dir}/hold ]; do sleep 0.05; done`,
        'done',
      ].join('\n');
      supervisor = spawn(
        'systemd-socket-activate',
        ['-l', `127.0.0.1:${port}`, '--fdname=smb', 'bash', '-c', loop],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      // It binds and listens before waiting for the first connection.
      await waitFor('systemd-socket-activate listening', 5000, () => listening(port), 50);
    });

    afterAll(async () => {
      for (const s of open) s.destroy();
      if (existsSync(join(dir, 'go'))) unlinkSync(join(dir, 'go'));
      if (existsSync(join(dir, 'mccd.pid'))) {
        const pid = mccdPid();
        if (pidAlive(pid)) process.kill(pid, 'SIGTERM');
      }
      await killAndWait(supervisor);
      await killAndWait(worker);
      if (process.env.MCC_KEEP_TEST_DIR) process.stdout.write(`kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    });

    it('a client that connects before mccd runs waits in the queue and is served once it starts', async () => {
      const early = await sendNegotiate(port, randomUUID());
      open.push(early.socket);
      // The connection itself started mccd; the worker can register once mccd's worker socket is there
      // (the front door waits for the first worker, so the queued client is not refused meanwhile).
      await waitFor(
        'mccd worker socket',
        20_000,
        () => (existsSync(join(dir, 'workers.sock')) ? true : undefined),
        50,
      );
      worker = await startWorker(join(dir, 'workers.sock'), 'w1');
      expect(await early.dialect).toBe(0x0311);
      const status = await apiGet<StatusAnswer>(api(), '/v1/status');
      expect(status.listen).toEqual([{ address: '127.0.0.1', port }]);
      expect(status.restart?.outcome).toBe('no-state');
      expect(readFileSync(join(dir, 'mccd.log'), 'utf8')).toMatch(
        /socket activation: serving 127\.0\.0\.1:\d+ \(smb\)/,
      );
    });

    it('kill -9: channels stay up, a client connecting meanwhile waits, a channel closed meanwhile is dropped', async () => {
      const a = randomUUID();
      const b = randomUUID();
      const a1 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a });
      const a2 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a });
      const b1 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: b });
      open.push(a1.socket, a2.socket, b1.socket);
      const ends = [a1.closed, a2.closed];
      await waitForStateWrite();
      writeFileSync(join(dir, 'hold'), '');
      const killed = mccdPid();
      process.kill(killed, 'SIGKILL');
      await waitFor('mccd gone', 5000, () => (pidAlive(killed) ? undefined : true), 20);
      b1.socket.destroy(); // b's only channel ends while nobody watches
      const c = randomUUID();
      const during = await sendNegotiate(port, c);
      open.push(during.socket);
      await new Promise((r) => setTimeout(r, 300));
      unlinkSync(join(dir, 'hold'));
      expect(await during.dialect).toBe(0x0311);
      const s = await waitForRestart(killed);
      expect(s.restart?.outcome).toBe('restored');
      expect(s.restart?.clients.kept).toBeGreaterThanOrEqual(2); // a (and the first test's client)
      const clients = await apiGet<{ clientGuid: string; channels: number }[]>(api(), '/v1/clients');
      expect(clients.find((x) => x.clientGuid === a)?.channels).toBe(2);
      expect(clients.find((x) => x.clientGuid === b)).toBeUndefined();
      expect(clients.find((x) => x.clientGuid === c)).toBeDefined();
      await stillOpen(ends, [a1.socket, a2.socket]);
    });

    it('SIGTERM (systemctl restart): every client is taken back', async () => {
      const g = randomUUID();
      const ch = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: g });
      open.push(ch.socket);
      await waitForStateWrite();
      const before = await apiGet<StatusAnswer>(api(), '/v1/status');
      const pid = mccdPid();
      process.kill(pid, 'SIGTERM');
      const s = await waitForRestart(pid);
      expect(s.restart?.outcome).toBe('restored');
      expect(s.restart?.clients).toEqual({ restored: before.clients, kept: before.clients, dropped: 0 });
      expect(s.restart?.unknownClosed).toBe(0);
      await stillOpen([ch.closed], [ch.socket]);
    });

    async function waitForStateWrite(): Promise<void> {
      const want = (await apiGet<StatusAnswer>(api(), '/v1/status')).clients;
      await waitFor('state written', 5000, async () => {
        const s = await apiGet<StatusAnswer>(api(), '/v1/status');
        return s.state.lastWrite?.clients === want ? true : undefined;
      });
    }

    async function waitForRestart(oldPid: number): Promise<StatusAnswer> {
      return waitFor('mccd back', 20_000, async () => {
        if (!existsSync(join(dir, 'api.sock'))) return undefined;
        const s = await apiGet<StatusAnswer>(api(), '/v1/status').catch(() => undefined);
        return s && s.pid !== oldPid ? s : undefined;
      });
    }

    /** The channels did not end, and the worker still answers on them (an ECHO round trip each). */
    async function stillOpen(ends: Promise<SocketEnd>[], sockets: Socket[]): Promise<void> {
      const settled = await Promise.race([
        Promise.race(ends).then(() => 'ended'),
        new Promise((r) => setTimeout(() => r('open'), 300)),
      ]);
      expect(settled).toBe('open');
      for (const s of sockets) await echo(s);
    }
  },
);

/** Whether something listens on the port, read from the kernel: a connect would start the activation. */
function listening(port: number): true | undefined {
  return listTcpSockets({ localPort: port, states: 1 << 10 }).length > 0 ? true : undefined;
}

async function echo(socket: Socket): Promise<void> {
  const reader = new FrameReader();
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    const onData = (d: Buffer) => {
      if (reader.push(d).frames.some((f) => echoResponsePull(f).ok)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(true);
      }
    };
    socket.on('data', onData);
  });
  socket.write(frame(echoRequestPush(7n)));
  expect(await answered).toBe(true);
}

/** Connects and sends a NEGOTIATE at once; `dialect` resolves when (if ever) the answer comes. */
async function sendNegotiate(port: number, clientGuid: string) {
  const socket = connect({ port, host: '127.0.0.1' });
  const closed = watchEnd(socket);
  await once(socket, 'connect');
  socket.write(frame(buildNegotiateRequest({ clientGuid })));
  const reader = new FrameReader();
  const dialect = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no NEGOTIATE response within 20 s')), 20_000);
    socket.on('data', (d: Buffer) => {
      for (const f of reader.push(d).frames) {
        clearTimeout(timer);
        const r = negotiateResponsePull(f);
        if (r.ok) resolve(r.value.dialect);
        else reject(r.error);
      }
    });
    socket.once('close', () => reject(new Error('closed before the NEGOTIATE response')));
  });
  return { socket, dialect, closed };
}
