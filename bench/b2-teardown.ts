import { type ChildProcess, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { apiRequest } from '../cli/api-client.js';
import { type B2Run, b2Lines } from './b2-prose.js';
import { benchDir, freePort, startMccd } from './procs.js';
import { fmt, type Section } from './stats.js';

/**
 * B2: a RELEASE_IP with many clients connected through mccd, every fourth client with one channel on the
 * released address; the clock runs from the release to the EOF each client process sees. The floor, in
 * the same run: the same clients on a plain server that closes the same sockets itself, no mccd.
 */
const OBSERVATION_MS = 4000;
const PER_PROCESS = 2250; // clients per load process: 9,000 channels, under the 20,000-fd limit
const RELEASED = '127.0.0.2';
const FIXED = '127.0.0.1';

export async function b2(clients: number): Promise<Section> {
  const procs = Math.ceil(clients / PER_PROCESS);
  const floor = await floorRun(clients, procs);
  const mccd = await mccdRun(clients, procs);
  return {
    title: `B2 teardown: ${fmt(clients)} clients × 4 channels on loopback, 25% with one channel on the released IP`,
    lines: b2Lines({ cores: cpus().length, clients, workers: procs, windowMs: OBSERVATION_MS, mccd, floor }),
  };
}

async function mccdRun(clients: number, procs: number): Promise<B2Run> {
  const port = await freePort();
  const m = await startMccd({
    workers: procs,
    listen: [
      { address: FIXED, port },
      { address: RELEASED, port },
    ],
  });
  try {
    return await releaseRun(clients, Array(procs).fill(port), async () => {
      await apiRequest(
        { socketPath: m.api },
        'POST',
        '/v1/ctdb/event',
        { event: 'releaseip', args: ['lo', RELEASED, '8'] },
        30_000,
      );
    });
  } finally {
    await m.stop();
  }
}

async function floorRun(clients: number, procs: number): Promise<B2Run> {
  // One server per client process, as mccd has one worker per client process: each holds 9,000 sockets,
  // under the per-process fd limit.
  const servers = await Promise.all(
    Array.from({ length: procs }, async () => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [join(benchDir, 'b2-floor-server.js'), JSON.stringify({ port, addresses: [FIXED, RELEASED] })],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      return { port, child, next: lineReader(child) };
    }),
  );
  try {
    await Promise.all(servers.map((s) => s.next()));
    return await releaseRun(
      clients,
      servers.map((s) => s.port),
      async () => {
        for (const s of servers) s.child.stdin!.write(`release ${RELEASED}\n`);
        await Promise.all(servers.map((s) => s.next()));
      },
    );
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
  }
}

/**
 * Opens the clients, client process i through ports[i], calls `release`, and collects when each affected
 * channel closed.
 */
async function releaseRun(clients: number, ports: number[], release: () => Promise<void>): Promise<B2Run> {
  const children = ports.map((port, i) => {
    const first = i * PER_PROCESS;
    const count = Math.min(PER_PROCESS, clients - first);
    return spawn(
      process.execPath,
      [
        join(benchDir, 'b2-clients.js'),
        JSON.stringify({ port, first, count, released: RELEASED, fixed: FIXED, source: `127.0.1.${i + 1}` }),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
  });
  const lines = children.map(lineReader);
  const setupStart = Date.now();
  const ready = (await Promise.all(lines.map((next) => next()))).map(
    (l) => JSON.parse(l) as { ready: number; failed: number },
  );
  const setupSeconds = (Date.now() - setupStart) / 1000;
  const t0 = Date.now();
  await release();
  await new Promise((r) => setTimeout(r, OBSERVATION_MS));
  for (const c of children) c.stdin!.write('report\n');
  const reports = (await Promise.all(lines.map((next) => next()))).map(
    (l) => JSON.parse(l) as { affected: number; affectedClosed: number[]; unaffectedClosed: number },
  );
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
  return {
    opened: ready.reduce((a, r) => a + r.ready, 0),
    setupFailures: ready.reduce((a, r) => a + r.failed, 0),
    setupSeconds,
    affected: reports.reduce((a, r) => a + r.affected, 0),
    closeLatenciesMs: reports.flatMap((r) => r.affectedClosed.map((t) => t - t0)),
    unaffectedClosed: reports.reduce((a, r) => a + r.unaffectedClosed, 0),
  };
}

/** Line-at-a-time reader of a child's stdout. */
function lineReader(c: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buffer = '';
  c.stdout!.on('data', (d) => {
    buffer += d;
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queue.push(line);
      i = buffer.indexOf('\n');
    }
  });
  return () =>
    new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : waiters.push(resolve)));
}
