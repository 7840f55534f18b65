import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { apiRequest } from '../cli/api-client.js';
import { b2Lines } from './b2-prose.js';
import { benchDir, freePort, startMccd } from './procs.js';
import { fmt, type Section } from './stats.js';

/**
 * B2: a RELEASE_IP with many clients connected through mccd, every fourth client with one channel on the
 * released address; the clock runs from the release to the EOF each client process sees.
 */
const OBSERVATION_MS = 4000;

export async function b2(clients: number): Promise<Section> {
  const perProcess = 2250; // clients per load process: 9,000 channels, under the 20,000-fd limit
  const procs = Math.ceil(clients / perProcess);
  const port = await freePort();
  const m = await startMccd({
    workers: procs,
    listen: [
      { address: '127.0.0.1', port },
      { address: '127.0.0.2', port },
    ],
  });
  try {
    const children = Array.from({ length: procs }, (_, i) => {
      const first = i * perProcess;
      const count = Math.min(perProcess, clients - first);
      return spawn(
        process.execPath,
        [
          join(benchDir, 'b2-clients.js'),
          JSON.stringify({
            port,
            first,
            count,
            released: '127.0.0.2',
            fixed: '127.0.0.1',
            source: `127.0.1.${i + 1}`,
          }),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
    });
    const lines = children.map((c) => {
      const queue: string[] = [];
      let buffer = '';
      const waiters: ((l: string) => void)[] = [];
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
    });
    const setupStart = Date.now();
    const ready = (await Promise.all(lines.map((next) => next()))).map(
      (l) => JSON.parse(l) as { ready: number; failed: number },
    );
    const setupSeconds = (Date.now() - setupStart) / 1000;
    const t0 = Date.now();
    await apiRequest(
      { socketPath: m.api },
      'POST',
      '/v1/ctdb/event',
      { event: 'releaseip', args: ['lo', '127.0.0.2', '8'] },
      30_000,
    );
    await new Promise((r) => setTimeout(r, OBSERVATION_MS));
    for (const c of children) c.stdin!.write('report\n');
    const reports = (await Promise.all(lines.map((next) => next()))).map(
      (l) => JSON.parse(l) as { affected: number; affectedClosed: number[]; unaffectedClosed: number },
    );
    await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
    const closeLatenciesMs = reports.flatMap((r) => r.affectedClosed.map((t) => t - t0));
    return {
      title: `B2 teardown: ${fmt(clients)} clients × 4 channels on loopback, 25% with one channel on the released IP`,
      lines: b2Lines({
        cores: cpus().length,
        clients,
        opened: ready.reduce((a, r) => a + r.ready, 0),
        setupFailures: ready.reduce((a, r) => a + r.failed, 0),
        setupSeconds,
        workers: procs,
        affected: reports.reduce((a, r) => a + r.affected, 0),
        closeLatenciesMs,
        unaffectedClosed: reports.reduce((a, r) => a + r.unaffectedClosed, 0),
        windowMs: OBSERVATION_MS,
      }),
    };
  } finally {
    await m.stop();
  }
}
