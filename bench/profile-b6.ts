import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiGet } from '../cli/api-client.js';
import { loadInChild, startMccd } from './procs.js';
import type { CpuProfile } from './profile-split.js';
import { prepareSmbdState } from './smbd.js';
import { USER_HZ } from './stats.js';

/**
 * `node dist/bench/profile-b6.js [seconds] [concurrencies] [outDir]`: B6's closed loops through mccd and
 * an smbd pool of 64 (concurrencies e.g. `1,16,64`, run in that order on one mccd after a warm-up, as B6
 * does), mccd's own CPU per connection in each, split by thread (/proc/PID/task), and with the profiler
 * (unless MCC_NO_PROF=1) the heaviest functions of mccd's main thread over all of them, self and inclusive. Not part of `npm run bench`; run it under the heavy-run lock. MCC_LOG_DEOPT=1 adds V8's
 * deoptimisation log (outDir/v8.log).
 */
const seconds = Number(process.argv[2] ?? '4');
const concurrencies = (process.argv[3] ?? '64').split(',').map(Number);
const out = process.argv[4] ?? join(process.cwd(), 'profile-b6');
mkdirSync(out, { recursive: true });
const profiling = process.env.MCC_NO_PROF !== '1';
const nodeFlags = profiling ? ['--cpu-prof', `--cpu-prof-dir=${out}`, '--cpu-prof-interval=200'] : [];
// mccd's stdout is not kept (bench/procs.ts): V8's deopt log goes to a file instead.
if (process.env.MCC_LOG_DEOPT === '1')
  nodeFlags.push('--log-deopt', `--logfile=${join(out, 'v8.log')}`, '--no-logfile-per-isolate');
// MCC_LOG_CODE=1: V8's code log too (code-creation lines name each optimised compile), same file.
if (process.env.MCC_LOG_CODE === '1') nodeFlags.push('--log-code');
// MCC_PERF=1: `perf record` of every mccd thread over the loop (outDir/perf.data), JIT names for it.
const perf = process.env.MCC_PERF === '1';
if (perf) nodeFlags.push('--perf-basic-prof');

const smbdDir = mkdtempSync(join(tmpdir(), 'mcc-prof-b6-'));
const { confPath } = await prepareSmbdState(smbdDir, ['bind interfaces only = no']);
const running = await startMccd({
  backend: { kind: 'smbd', config: confPath, logDir: join(smbdDir, 'log'), pool: { size: 64 } },
  nodeFlags,
});
for (;;) {
  const s = await apiGet<{ backend: { pool?: { ready: number } } }>(
    { socketPath: running.api },
    '/v1/status',
  );
  if ((s.backend.pool?.ready ?? 0) >= 64) break;
  await new Promise((r) => setTimeout(r, 100));
}
const pid = running.pids[0]!;

/** CPU ms per thread of mccd by thread name (several threads may share a name: summed). */
function threads(): Record<string, number> {
  const r: Record<string, number> = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const name = t === String(pid) ? 'main' : `${comm} ${t}`;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    r[name] = (r[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ;
  }
  return r;
}

loadInChild({ port: running.port, mode: 'closed', concurrency: 4, durationMs: 300 }); // warm-up, as B6's
const recorder = perf
  ? spawn('perf', ['record', '-g', '-F', '1999', '-p', String(pid), '-o', join(out, 'perf.data')], {
      stdio: 'ignore',
    })
  : undefined;
if (recorder) await new Promise((r) => setTimeout(r, 500));
const cells: Record<string, unknown>[] = [];
let completed = 0;
for (const concurrency of concurrencies) {
  const before = threads();
  const load = loadInChild({ port: running.port, mode: 'closed', concurrency, durationMs: seconds * 1000 });
  await new Promise((r) => setTimeout(r, 1500)); // the closes of the last connections, as B6 measures
  const after = threads();
  completed += load.ok;
  const perThread: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of Object.entries(after)) {
    const us = ((v - (before[k] ?? 0)) * 1000) / load.ok;
    total += us;
    if (us > 0) perThread[k] = Math.round(us);
  }
  cells.push({
    concurrency,
    completed: load.ok,
    errors: load.errors,
    connPerSec: Math.round(load.connPerSec),
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    mccdUsPerConnection: Math.round(total),
    perThread,
  });
}
if (recorder) {
  recorder.kill('SIGINT');
  await new Promise((r) => recorder.once('exit', r));
}
const status = await apiGet<{ backend: { spawned: number } }>({ socketPath: running.api }, '/v1/status');
process.kill(pid, 'SIGTERM'); // node writes the profile on a clean exit only
const report: Record<string, unknown> = { seconds, completed, spawned: status.backend.spawned, cells };
if (profiling) {
  let file: string | undefined;
  for (let i = 0; i < 200 && !file; i++) {
    file = readdirSync(out).find((n) => n.endsWith('.cpuprofile'));
    if (!file) await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  const p = JSON.parse(readFileSync(join(out, file!), 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '')}:${f.lineNumber}`;
  };
  // Only the window of the loop: from the first to the last sample whose stack shows a pool handoff.
  const marks = p.samples.map((id) => {
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n))
      if (byId.get(n)!.callFrame.functionName === 'admit') return true;
    return false;
  });
  const first = marks.indexOf(true);
  const last = marks.lastIndexOf(true);
  const self: Record<string, number> = {};
  const incl: Record<string, number> = {};
  let busy = 0;
  for (let i = first; i <= last; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i]!;
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    busy += dt;
    self[name(id)] = (self[name(id)] ?? 0) + dt;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const k = name(n);
      if (seen.has(k)) continue;
      seen.add(k);
      incl[k] = (incl[k] ?? 0) + dt;
    }
  }
  const top = (r: Record<string, number>, k: number) =>
    Object.fromEntries(
      Object.entries(r)
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([key, v]) => [key, `${((100 * v) / busy).toFixed(1)}%`]),
    );
  report.profile = { busyMs: Math.round(busy / 1000), self: top(self, 40), inclusive: top(incl, 60) };
  rmSync(join(out, file!));
}
await running.stop();
// Any smbd of this run still up (its config path is this run's own), by pid.
for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
  try {
    if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(confPath)) process.kill(Number(p), 'SIGKILL');
  } catch {
    // gone
  }
}
rmSync(smbdDir, { recursive: true, force: true });
console.log(JSON.stringify(report, null, 1));
