import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { type B8Numbers, type B8Probe, b8Prose } from './b8-prose.js';
import { benchDir, pidAlive, startMccd } from './procs.js';
import { fmt, percentile, type Section } from './stats.js';

/**
 * B8: issue #23's idle flood as specified. mccd under the unit's LimitNOFILE (prlimit --nofile=20000),
 * 12,000 connections that never send a byte, each re-opened as soon as mccd closes it, for 30 s, from
 * flooder processes with their own fd limits raised; a real client's NEGOTIATE every 100 ms meanwhile.
 * The baseline is the same probe against the same mccd while nothing floods it, before and after.
 */
export const B8_NOFILE = 20_000;
export const B8_IDLE = 12_000;
export const B8_FLOOD_MS = 30_000;
export const B8_P99_TARGET_MS = 100;
const BASELINE_MS = 10_000;
const PROBE_INTERVAL_MS = 100;
const FLOODERS = 4;
/**
 * 16 source addresses × 750: under negotiate.maxPendingPerAddress (1,000), so no address is shed for
 * being itself over its bound; only the overall bound (negotiate.maxPending, 10,000) sheds.
 */
const SOURCES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);

interface FloodReport {
  opened: number;
  closedByServer: number;
  errors: Record<string, number>;
  held: { min: number; median: number; max: number };
}

function childJson<T>(script: string, arg: unknown, prefix: string[] = []): Promise<T> {
  const argv = [...prefix, process.execPath, join(benchDir, script), JSON.stringify(arg)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`${script} exited ${code}: ${out.slice(-300)}`));
      else resolve(JSON.parse(line) as T);
    }),
  );
}

function probe(port: number, durationMs: number): Promise<B8Probe> {
  return childJson<{ ms: number[]; failures: Record<string, number>; sent: number }>(
    'negotiate-probe-child.js',
    { port, intervalMs: PROBE_INTERVAL_MS, durationMs, timeoutMs: 3000 },
  ).then((r) => ({
    sent: r.sent,
    answered: r.ms.length,
    failures: r.failures,
    p50: percentile(r.ms, 50),
    p99: percentile(r.ms, 99),
    max: Math.max(...r.ms),
    over100: r.ms.filter((x) => x >= B8_P99_TARGET_MS).length,
  }));
}

function metrics(api: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ socketPath: api, path: '/metrics' }, (res) => {
      let t = '';
      res.on('data', (d) => {
        t += d;
      });
      res.on('end', () => resolve(t));
    }).on('error', reject);
  });
}

function sum(text: string, pattern: RegExp): number {
  let n = 0;
  for (const m of text.matchAll(pattern)) n += Number(m[1]);
  return n;
}

/** mccd's CPU time and the time it waited runnable for a CPU (/proc/PID/schedstat), in ms. */
function sched(pid: number): { ran: number; waited: number } {
  const [ran = 0, waited = 0] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { ran: ran / 1e6, waited: waited / 1e6 };
}

/** VmRSS of a process, in MiB. */
function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? Number.NaN) / 1024;
}

/** TcpExt ListenOverflows + ListenDrops (/proc/net/netstat): connections a full accept queue dropped. */
function listenDrops(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[i]?.split(' ') ?? [];
  const values = lines[i + 1]?.split(' ') ?? [];
  return Number(values[names.indexOf('ListenDrops')] ?? Number.NaN);
}

/**
 * The fullest accept queue of the port's listening sockets right now (ss: Recv-Q of each; mccd opens
 * negotiate.acceptQueues of them): a connection is dropped when the queue it was spread to is full.
 */
function acceptQueue(port: number): Promise<number | undefined> {
  return new Promise((resolve) =>
    execFile('ss', ['-ltnH', `sport = :${port}`], (error, out) => {
      const queues = out
        .trim()
        .split('\n')
        .map((line) => Number(line.trim().split(/\s+/)[1]))
        .filter((q) => Number.isFinite(q));
      resolve(error || queues.length === 0 ? undefined : Math.max(...queues));
    }),
  );
}

export type B8Run = B8Numbers & { floodErrorKinds: Record<string, number> };

/** One mccd, its baselines and the flood; `deferAccept` is mccd's negotiate.deferAccept. */
async function floodRun(deferAccept: boolean): Promise<B8Run> {
  const m = await startMccd({ workers: 1, nofile: B8_NOFILE, extra: { negotiate: { deferAccept } } });
  const pid = m.pids[0]!;
  try {
    const before = await probe(m.port, BASELINE_MS);
    const m0 = await metrics(m.api);
    const s0 = sched(pid);
    const drops0 = listenDrops();
    const fds: number[] = [];
    const queue: number[] = [];
    const rss: number[] = [rssMiB(pid)];
    const sampler = setInterval(() => {
      try {
        fds.push(readdirSync(`/proc/${pid}/fd`).length);
        rss.push(rssMiB(pid));
      } catch {
        // gone: judged below
      }
      void acceptQueue(m.port).then((q) => q !== undefined && queue.push(q));
    }, 250);
    const perFlooder = SOURCES.length / FLOODERS;
    const t0 = Date.now();
    const flooders = Array.from({ length: FLOODERS }, (_, i) =>
      // Each flooder holds 3,000 sockets: its own limit is raised above that (the shell's may be 1,024).
      childJson<FloodReport>(
        'idle-flood-child.js',
        {
          port: m.port,
          sources: SOURCES.slice(i * perFlooder, (i + 1) * perFlooder),
          perSource: B8_IDLE / SOURCES.length,
          durationMs: B8_FLOOD_MS,
        },
        ['prlimit', '--nofile=8192:8192'],
      ),
    );
    // The probe starts once the flood has ramped up, and ends with it.
    await new Promise((r) => setTimeout(r, 1000));
    const during = probe(m.port, B8_FLOOD_MS - 1500);
    const reports = await Promise.all(flooders);
    const floodSeconds = (Date.now() - t0) / 1000;
    const duringFlood = await during;
    clearInterval(sampler);
    const drops = listenDrops() - drops0;
    const up = pidAlive(pid);
    const s1 = up ? sched(pid) : { ran: Number.NaN, waited: Number.NaN };
    const m1 = up ? await metrics(m.api) : '';
    const after = up ? await probe(m.port, BASELINE_MS) : undefined;
    // What the flood left behind once the pending connections were closed (no GC forced).
    const rssAfter = up ? rssMiB(pid) : Number.NaN;
    const shed = (t: string) => sum(t, /mcc_rejected_connections_total\{reason="shed"\} (\d+)/g);
    const timeouts = (t: string) => sum(t, /mcc_rejected_connections_total\{reason="timeout"\} (\d+)/g);
    const acceptErrors = (t: string) => sum(t, /mcc_accept_errors_total\{[^}]*\} (\d+)/g);
    // What mccd took in from accept(): handed on (accepted_total) or closed for any reason (rejected).
    const accepted = (t: string) =>
      sum(t, /mcc_connections_accepted_total(?:\{[^}]*\})? (\d+)/g) +
      sum(t, /mcc_rejected_connections_total\{[^}]*\} (\d+)/g);
    const floodErrorKinds: Record<string, number> = {};
    for (const [k, v] of reports.flatMap((r) => Object.entries(r.errors)))
      floodErrorKinds[k] = (floodErrorKinds[k] ?? 0) + v;
    const wall = floodSeconds * 1000;
    return {
      deferAccept,
      nofile: B8_NOFILE,
      idle: B8_IDLE,
      sources: SOURCES.length,
      flooders: FLOODERS,
      floodSeconds,
      opened: reports.reduce((a, r) => a + r.opened, 0),
      floodErrors: reports.reduce((a, r) => a + Object.values(r.errors).reduce((x, y) => x + y, 0), 0),
      floodErrorKinds,
      heldMedian: reports.reduce((a, r) => a + r.held.median, 0),
      heldMin: reports.reduce((a, r) => a + r.held.min, 0),
      accepted: up ? accepted(m1) - accepted(m0) : Number.NaN,
      shed: up ? shed(m1) - shed(m0) : Number.NaN,
      timeouts: up ? timeouts(m1) - timeouts(m0) : Number.NaN,
      acceptErrors: up ? acceptErrors(m1) - acceptErrors(m0) : Number.NaN,
      up,
      fdsMax: Math.max(...fds),
      fdsMedian: percentile(fds, 50),
      rssBefore: rss[0]!,
      rssMax: Math.max(...rss),
      rssAfter,
      listenDrops: drops,
      queueMedian: percentile(queue, 50),
      queueMax: Math.max(...queue),
      mccdCpuShare: (s1.ran - s0.ran) / wall,
      mccdWaitShare: (s1.waited - s0.waited) / wall,
      before,
      during: duringFlood,
      ...(after ? { after } : {}),
      p99TargetMs: B8_P99_TARGET_MS,
    };
  } finally {
    await m.stop();
  }
}

export async function b8(): Promise<Section> {
  // Without TCP_DEFER_ACCEPT first (as mccd was before it), then as configured by default.
  const off = await floodRun(false);
  const on = await floodRun(true);
  const runs = [off, on];
  const name = (r: B8Run) => (r.deferAccept ? 'deferAccept on (default)' : 'deferAccept off');
  const probeCell = (p: B8Probe | undefined) =>
    p
      ? `${fmt(p.answered, 0)} of ${fmt(p.sent, 0)}; ${fmt(p.p50)} / ${fmt(p.p99)} / ${fmt(p.max)} ms${
          Object.keys(p.failures).length
            ? `; failed: ${Object.entries(p.failures)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}`
            : ''
        }`
      : '(mccd was down)';
  const row = (label: string, cell: (r: B8Run) => string) => `| ${label} | ${runs.map(cell).join(' | ')} |`;
  const lines = [
    `| measure | ${runs.map(name).join(' | ')} |`,
    `| --- | ${runs.map(() => '---').join(' | ')} |`,
    row(`probe, idle mccd ${BASELINE_MS / 1000} s before: answered; p50 / p99 / max`, (r) =>
      probeCell(r.before),
    ),
    row('probe during the flood: answered; p50 / p99 / max', (r) => probeCell(r.during)),
    row(`probe answered in ${B8_P99_TARGET_MS} ms or more during the flood`, (r) => String(r.during.over100)),
    row(`probe, idle mccd ${BASELINE_MS / 1000} s after: answered; p50 / p99 / max`, (r) =>
      probeCell(r.after),
    ),
    row(
      "idle connections the flooders held (median of samples after 3 s / sum of each one's lowest)",
      (r) => `${fmt(r.heldMedian, 0)} / ${fmt(r.heldMin, 0)} of ${fmt(r.idle, 0)}`,
    ),
    row(
      'connections opened (per second)',
      (r) => `${fmt(r.opened, 0)} (${fmt(r.opened / r.floodSeconds, 0)}/s)`,
    ),
    row('connections mccd accepted (handed on or closed)', (r) => fmt(r.accepted, 0)),
    row('closed by mccd: shed / deadline', (r) => `${fmt(r.shed, 0)} / ${fmt(r.timeouts, 0)}`),
    row('accepts that failed', (r) => fmt(r.acceptErrors, 0)),
    row(
      "flooders' connect errors",
      (r) =>
        `${fmt(r.floodErrors, 0)}${
          Object.keys(r.floodErrorKinds).length
            ? ` (${Object.entries(r.floodErrorKinds)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`
            : ''
        }`,
    ),
    row(
      "mccd's fds (/proc, every 250 ms): median / max",
      (r) => `${fmt(r.fdsMedian, 0)} / ${fmt(r.fdsMax, 0)} of ${fmt(r.nofile, 0)}`,
    ),
    row(
      'fullest accept queue (ss, every 250 ms): median / max',
      (r) => `${fmt(r.queueMedian, 0)} / ${fmt(r.queueMax, 0)}`,
    ),
    row('connections dropped at a full accept queue (TcpExt ListenDrops, whole machine)', (r) =>
      fmt(r.listenDrops, 0),
    ),
    row(
      'mccd on a CPU / waiting for one (share of the flood)',
      (r) => `${fmt(r.mccdCpuShare * 100, 0)}% / ${fmt(r.mccdWaitShare * 100, 0)}%`,
    ),
    row(
      "mccd's RSS before / at most during / 10 s after the flood",
      (r) => `${fmt(r.rssBefore, 1)} / ${fmt(r.rssMax, 1)} / ${fmt(r.rssAfter, 1)} MiB`,
    ),
    row('mccd alive at the end', (r) => (r.up ? 'yes' : '**no**')),
    '',
    ...b8Prose(on, off),
    `Each column is its own mccd (worker backend, one reference worker) under \`prlimit --nofile=${B8_NOFILE}\`, the unit's LimitNOFILE, with the default bounds (negotiate.maxPending 10,000, maxPendingPerAddress 1,000, timeoutMs 5,000) and 4 listening sockets sharing the port (negotiate.acceptQueues); the columns differ only in negotiate.deferAccept. ${FLOODERS} flooder processes (each under \`prlimit --nofile=8192\`) hold ${B8_IDLE / SOURCES.length} connections from each of ${SOURCES.length} loopback source addresses (127.0.0.2–127.0.0.${SOURCES.length + 1}): ${fmt(B8_IDLE, 0)} in all, under the per-address bound, so that bound sheds none of them by itself; each connection closed is opened again 2 ms later. The probe (bench/negotiate-probe-child.ts, its own process, from 127.0.0.1, a NEGOTIATE every ${PROBE_INTERVAL_MS} ms, 3 s timeout) starts 1 s into the flood; its baselines run against the same mccd before and after. Flooders, probe, mccd and its worker share the machine's cores.`,
  ];
  return {
    title: `B8 idle flood: ${fmt(B8_IDLE, 0)} idle connections re-opened for ${B8_FLOOD_MS / 1000} s against mccd limited to ${fmt(B8_NOFILE, 0)} fds`,
    lines,
  };
}
