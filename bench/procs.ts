import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiGet } from '../cli/api-client.js';
import type { LoadReport } from './loadgen.js';
import { runChild } from './stats.js';

/** Servers for the benchmarks, each in a process of its own, stopped by pid. */
const here = dirname(fileURLToPath(import.meta.url));
/** dist/ whether this runs compiled (dist/bench) or from source under vitest (bench/). */
const dist = here.endsWith(join('dist', 'bench')) ? join(here, '..') : join(here, '..', 'dist');
const benchDir = join(dist, 'bench');

async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Running {
  port: number;
  pids: number[];
  stop(): Promise<void>;
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  ).then(() => undefined);
}

export async function startBare(): Promise<Running> {
  const child = spawn(process.execPath, [join(benchDir, 'bare-server.js'), '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  const port = await until('bare server', 10_000, () =>
    out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as { port: number }).port : undefined,
  );
  return { port, pids: [child.pid!], stop: () => stopAll([child]) };
}

/** mccd (single-node, worker backend) plus `workers` reference workers. */
export async function startMccd(
  options: {
    workers?: number;
    negotiateTimeoutMs?: number;
    backend?: Record<string, unknown>;
    listen?: { address: string; port: number }[];
    /** node --expose-gc, so GET /v1/memory?gc=1 measures what survives a full collection. */
    exposeGc?: boolean;
    /** Run under this open-file limit (prlimit), as systemd's LimitNOFILE would. */
    nofile?: number;
    /** More node flags for mccd (e.g. --max-semi-space-size=2) and environment (e.g. MALLOC_ARENA_MAX). */
    nodeFlags?: string[];
    env?: Record<string, string>;
    /** Node flags for the reference workers (e.g. --cpu-prof for bench/profile-b1.ts). */
    workerNodeFlags?: string[];
    /** Config keys merged over the defaults below (e.g. { api: { headersTimeoutMs: 1000 } }). */
    extra?: Record<string, unknown>;
  } = {},
): Promise<Running & { api: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcc-bench-'));
  const api = join(dir, 'api.sock');
  const workerSocket = join(dir, 'workers.sock');
  writeFileSync(
    join(dir, 'mccd.json'),
    JSON.stringify({
      listen: options.listen ?? [{ address: '127.0.0.1', port: 0 }],
      cluster: { backend: 'single-node' },
      api: { socket: api },
      backend: options.backend ?? { kind: 'worker', socket: workerSocket },
      negotiate: { timeoutMs: options.negotiateTimeoutMs ?? 5000, maxBytes: 65536 },
      log: { level: 'warn' },
      ...options.extra,
      ...(options.extra?.api ? { api: { socket: api, ...(options.extra.api as object) } } : {}),
    }),
  );
  const nodeFlags = [...(options.exposeGc ? ['--expose-gc'] : []), ...(options.nodeFlags ?? [])];
  const argv = [process.execPath, ...nodeFlags, join(dist, 'cli/mccd.js'), '-c', join(dir, 'mccd.json')];
  // prlimit execs node in place: the pid is still mccd's.
  const limited = options.nofile
    ? ['prlimit', `--nofile=${options.nofile}:${options.nofile}`, ...argv]
    : argv;
  const mccd = spawn(limited[0]!, limited.slice(1), {
    stdio: ['ignore', 'ignore', 'inherit'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  const status = await until('mccd', 15_000, () =>
    apiGet<{ listen: { port: number }[] }>({ socketPath: api }, '/v1/status'),
  );
  const children = [mccd];
  if (!options.backend) {
    for (let i = 0; i < (options.workers ?? 1); i++) {
      const w = spawn(
        process.execPath,
        [
          ...(options.workerNodeFlags ?? []),
          join(dist, 'cli/mcc.js'),
          'worker',
          '--worker-socket',
          workerSocket,
          '--id',
          `bench${i}`,
        ],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      children.push(w);
    }
    await until('workers registered', 10_000, async () => {
      const s = await apiGet<{ backend: { workers: unknown[] } }>({ socketPath: api }, '/v1/status');
      return s.backend.workers.length === (options.workers ?? 1) ? true : undefined;
    });
  }
  return {
    port: status.listen[0]!.port,
    api,
    dir,
    pids: children.map((c) => c.pid!),
    stop: async () => {
      await stopAll(children);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on right now (loopback). */
/** Whether a process with this pid exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export { benchDir };

/** One load run (bench/loadgen-child) against 127.0.0.1 in a process of its own: its report. */
export function loadInChild(args: Record<string, unknown>): LoadReport {
  return runChild<LoadReport>(join(benchDir, 'loadgen-child.js'), [
    JSON.stringify({ host: '127.0.0.1', ...args }),
  ]);
}

/** smbd's own listener (daemon mode, a fork per connection) on a free port. */
export async function startSmbdListener(): Promise<Running> {
  const { prepareSmbdState } = await import('./smbd.js');
  const dir = mkdtempSync(join(tmpdir(), 'mcc-bench-smbd-'));
  const port = await freePort();
  const { confPath } = await prepareSmbdState(dir, [`smb ports = ${port}`, 'bind interfaces only = no']);
  const child = spawn('/usr/sbin/smbd', ['-F', '--no-process-group', '-s', confPath], {
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  const { connect } = await import('node:net');
  await until(
    'smbd listening',
    20_000,
    () =>
      new Promise<true | undefined>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(undefined));
      }),
  );
  return {
    port,
    pids: [child.pid!],
    stop: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** mccd with the smbd backend: every connection becomes an `smbd -i` with the socket as fd 0 (with `pool`, a member forked from the pool's zygote). */
export async function startMccdSmbd(pool = 0): Promise<Running & { api: string; dir: string }> {
  const { prepareSmbdState } = await import('./smbd.js');
  const smbdDir = mkdtempSync(join(tmpdir(), 'mcc-bench-inetd-'));
  const { confPath } = await prepareSmbdState(smbdDir, ['bind interfaces only = no']);
  const m = await startMccd({
    backend: { kind: 'smbd', config: confPath, logDir: join(smbdDir, 'log'), pool: { size: pool } },
  });
  if (pool > 0) {
    await until('smbd pool ready', 60_000, async () => {
      const s = await apiGet<{ backend: { pool?: { ready: number } } }>({ socketPath: m.api }, '/v1/status');
      return (s.backend.pool?.ready ?? 0) >= pool ? true : undefined;
    });
  }
  return {
    ...m,
    stop: async () => {
      await m.stop();
      // inetd-mode smbd processes each run in a session of their own; they exit with their connection.
      const { execFileSync } = await import('node:child_process');
      try {
        execFileSync('pkill', ['-f', `smbd -i -s ${confPath}`]);
      } catch {
        // none left
      }
      rmSync(smbdDir, { recursive: true, force: true });
    },
  };
}
