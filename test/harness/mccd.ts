import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperatorApi } from '../../coordinator/api.js';
import { type MccConfig, parseConfig } from '../../coordinator/config.js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { createLogger } from '../../coordinator/log.js';
import type { ClusterView } from '../../ctdb/cluster-view.js';
import { buildNegotiateRequest, FrameReader, frame, negotiateResponsePull } from '../../wire/index.js';
import { projectRoot } from '../helpers/reference.js';
import { waitFor } from './netns.js';
import { type SocketEnd, watchEnd } from './socket-end.js';

/** mccd's coordinator and API in this process, on private sockets, for tests. */
export interface TestMccd {
  coordinator: Coordinator;
  api: OperatorApi;
  config: MccConfig;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestMccd(
  overrides: Record<string, unknown> = {},
  cluster?: ClusterView,
): Promise<TestMccd> {
  const dir = mkdtempSync(join(tmpdir(), 'mcc-mccd-'));
  const config = parseConfig({
    listen: [{ address: '127.0.0.1', port: 0 }],
    api: { socket: join(dir, 'api.sock') },
    backend: { kind: 'worker', socket: join(dir, 'workers.sock'), teardownAckMs: 1000 },
    cluster: { backend: 'single-node' },
    negotiate: { timeoutMs: 2000, maxBytes: 65536 },
    log: { level: process.env.MCC_TEST_LOG ?? 'fatal' },
    ...overrides,
  });
  const log = createLogger(config.log.level);
  const coordinator = new Coordinator(config, log, cluster ? { cluster } : {});
  await coordinator.start();
  const api = new OperatorApi(coordinator, config.api, log, 'test');
  await api.start();
  return {
    coordinator,
    api,
    config,
    dir,
    async stop() {
      await api.stop();
      await coordinator.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The reference worker as a separate process (`mcc worker`), registered before this resolves. */
export async function startWorker(socketPath: string, id: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'dist/cli/mcc.js'), 'worker', '--worker-socket', socketPath, '--id', id],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  await waitFor(
    `worker ${id} registered`,
    10_000,
    () => {
      if (child.exitCode !== null) throw new Error(`worker exited: ${err}`);
      return err.includes('registered') ? true : undefined;
    },
    20,
  );
  return child;
}

export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/** A client channel: connects (optionally from/to given addresses), sends NEGOTIATE, reads the answer. */
export async function negotiateChannel(options: {
  host: string;
  port: number;
  clientGuid: string;
  localAddress?: string;
}): Promise<{ socket: Socket; dialect: number; closed: Promise<SocketEnd> }> {
  const socket = connect({
    host: options.host,
    port: options.port,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  const closed = watchEnd(socket);
  await once(socket, 'connect');
  socket.write(frame(buildNegotiateRequest({ clientGuid: options.clientGuid })));
  const reader = new FrameReader();
  const dialect = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no NEGOTIATE response within 5 s')), 5000);
    socket.on('data', (d: Buffer) => {
      for (const f of reader.push(d).frames) {
        const r = negotiateResponsePull(f);
        clearTimeout(timer);
        if (r.ok) resolve(r.value.dialect);
        else reject(r.error);
      }
    });
    socket.once('close', () => reject(new Error('closed before the NEGOTIATE response')));
  });
  return { socket, dialect, closed };
}
