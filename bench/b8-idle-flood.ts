import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { type B8Numbers, type B8Probe, b8Prose } from './b8-prose.js';
import { benchDir, startMccd } from './procs.js';
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** utime + stime of a process, in ms (USER_HZ 100). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function b8(): Promise<Section> {
  const m = await startMccd({ workers: 1, nofile: B8_NOFILE });
  const pid = m.pids[0]!;
  try {
    const before = await probe(m.port, BASELINE_MS);
    const m0 = await metrics(m.api);
    const cpu0 = cpuMs(pid);
    const fds: number[] = [];
    const sampler = setInterval(() => {
      try {
        fds.push(readdirSync(`/proc/${pid}/fd`).length);
      } catch {
        // gone: judged below
      }
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
    const up = alive(pid);
    const cpu = up ? cpuMs(pid) - cpu0 : Number.NaN;
    const m1 = up ? await metrics(m.api) : '';
    const after = up ? await probe(m.port, BASELINE_MS) : undefined;
    const shed = (t: string) => sum(t, /mcc_rejected_connections_total\{reason="shed"\} (\d+)/g);
    const timeouts = (t: string) => sum(t, /mcc_rejected_connections_total\{reason="timeout"\} (\d+)/g);
    const acceptErrors = (t: string) => sum(t, /mcc_accept_errors_total\{[^}]*\} (\d+)/g);
    const n: B8Numbers = {
      nofile: B8_NOFILE,
      idle: B8_IDLE,
      sources: SOURCES.length,
      flooders: FLOODERS,
      floodSeconds,
      opened: reports.reduce((a, r) => a + r.opened, 0),
      floodErrors: reports.reduce((a, r) => a + Object.values(r.errors).reduce((x, y) => x + y, 0), 0),
      heldMedian: reports.reduce((a, r) => a + r.held.median, 0),
      heldMin: reports.reduce((a, r) => a + r.held.min, 0),
      shed: up ? shed(m1) - shed(m0) : Number.NaN,
      timeouts: up ? timeouts(m1) - timeouts(m0) : Number.NaN,
      acceptErrors: up ? acceptErrors(m1) - acceptErrors(m0) : Number.NaN,
      up,
      fdsMax: Math.max(...fds),
      fdsMedian: percentile(fds, 50),
      mccdCpuShare: cpu / (floodSeconds * 1000),
      before,
      during: duringFlood,
      ...(after ? { after } : {}),
      p99TargetMs: B8_P99_TARGET_MS,
    };
    const row = (label: string, p: B8Probe | undefined) =>
      p
        ? `| ${label} | ${fmt(p.answered, 0)} of ${fmt(p.sent, 0)} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${fmt(p.max)} | ${p.over100} | ${Object.entries(
            p.failures,
          )
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')} |`
        : `| ${label} | (mccd was down) | | | | | |`;
    const floodErrorKinds: Record<string, number> = {};
    for (const [k, v] of reports.flatMap((r) => Object.entries(r.errors)))
      floodErrorKinds[k] = (floodErrorKinds[k] ?? 0) + v;
    const lines = [
      `| probe (a NEGOTIATE every ${PROBE_INTERVAL_MS} ms) | answered | p50 ms | p99 ms | max ms | ≥ ${B8_P99_TARGET_MS} ms | failures |`,
      '| --- | --- | --- | --- | --- | --- | --- |',
      row(`baseline: idle mccd, ${BASELINE_MS / 1000} s before the flood`, before),
      row(`during the flood (${fmt(floodSeconds, 1)} s)`, duringFlood),
      row(`baseline: idle mccd, ${BASELINE_MS / 1000} s after the flood`, after),
      '',
      '| flood | value |',
      '| --- | --- |',
      `| idle connections held by the flooders (median / lowest sample) | ${fmt(n.heldMedian, 0)} / ${fmt(n.heldMin, 0)} of ${fmt(B8_IDLE, 0)} |`,
      `| connections opened (per second) | ${fmt(n.opened, 0)} (${fmt(n.opened / floodSeconds, 0)}/s) |`,
      `| closed by mccd: shed / deadline (5 s) | ${fmt(n.shed, 0)} / ${fmt(n.timeouts, 0)} |`,
      `| accepts that failed | ${fmt(n.acceptErrors, 0)} |`,
      `| flooders' connect errors | ${fmt(n.floodErrors, 0)}${
        Object.keys(floodErrorKinds).length
          ? ` (${Object.entries(floodErrorKinds)
              .map(([k, v]) => `${k}: ${v}`)
              .join(', ')})`
          : ''
      } |`,
      `| mccd's fds (/proc, every 250 ms): median / max | ${fmt(n.fdsMedian, 0)} / ${fmt(n.fdsMax, 0)} of ${fmt(B8_NOFILE, 0)} |`,
      `| mccd's CPU during the flood | ${fmt(n.mccdCpuShare * 100, 0)}% of one core |`,
      `| mccd alive at the end | ${up ? 'yes' : '**no**'} |`,
      '',
      ...b8Prose(n),
      `mccd (worker backend, one reference worker) runs under \`prlimit --nofile=${B8_NOFILE}\`, the unit's LimitNOFILE, with the default bounds (negotiate.maxPending 10,000, maxPendingPerAddress 1,000, timeoutMs 5,000). ${FLOODERS} flooder processes (each under \`prlimit --nofile=8192\`) hold ${B8_IDLE / SOURCES.length} connections from each of ${SOURCES.length} loopback source addresses (127.0.0.2–127.0.0.${SOURCES.length + 1}): ${fmt(B8_IDLE, 0)} in all, under the per-address bound, so only the overall bound sheds; each connection closed is opened again 2 ms later. The probe (bench/negotiate-probe-child.ts, its own process, from 127.0.0.1, 3 s timeout) starts 1 s into the flood. Flooders, probe, mccd and its worker share the machine's cores.`,
    ];
    return {
      title: `B8 idle flood: ${fmt(B8_IDLE, 0)} idle connections re-opened for ${B8_FLOOD_MS / 1000} s against mccd limited to ${fmt(B8_NOFILE, 0)} fds`,
      lines,
    };
  } finally {
    await m.stop();
  }
}
