import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInChild, startMccd } from './procs.js';
import { type CpuProfile, perConnection } from './profile-split.js';
import { processCpuMs } from './stats.js';

/**
 * `node dist/bench/profile-b1.js [seconds] [outDir]`: B1's closed loop (64 concurrent) through mccd and
 * one reference worker, both under `node --cpu-prof`, then where mccd's time per connection went, by
 * part of the path (profile-split.ts). Not part of `npm run bench`: the profiler costs time itself, so
 * its figures explain B1's, they do not replace them. Run it under the heavy-run lock.
 */
const seconds = Number(process.argv[2] ?? '5');
const out = process.argv[3] ?? join(process.cwd(), 'profile-b1');
mkdirSync(join(out, 'mccd'), { recursive: true });
mkdirSync(join(out, 'worker'), { recursive: true });
// MCC_NO_PROF=1: CPU per connection only, without the profiler's own cost (to compare two builds).
const profiling = process.env.MCC_NO_PROF !== '1';
// MCC_PERF=1 (with MCC_NO_PROF=1): JIT symbols in /tmp/perf-PID.map, for `perf record` beside the run.
const perfMap = process.env.MCC_PERF === '1' ? ['--perf-basic-prof'] : [];
const prof = (dir: string) =>
  profiling ? ['--cpu-prof', `--cpu-prof-dir=${join(out, dir)}`, '--cpu-prof-interval=200'] : perfMap;

const running = await startMccd({ workers: 1, nodeFlags: prof('mccd'), workerNodeFlags: prof('worker') });
const [mccdPid, workerPid] = running.pids as [number, number];
loadInChild({ port: running.port, mode: 'closed', concurrency: 8, durationMs: 500 }); // warm-up
const before = { mccd: processCpuMs(mccdPid), worker: processCpuMs(workerPid) };
const load = loadInChild({ port: running.port, mode: 'closed', concurrency: 64, durationMs: seconds * 1000 });
const cpu = { mccd: processCpuMs(mccdPid) - before.mccd, worker: processCpuMs(workerPid) - before.worker };
// SIGTERM: node writes the profile on a clean exit only.
for (const pid of [workerPid, mccdPid]) process.kill(pid, 'SIGTERM');
const newest = async (dir: string): Promise<string> => {
  for (let i = 0; i < 200; i++) {
    const f = readdirSync(join(out, dir)).filter((n) => n.endsWith('.cpuprofile'));
    if (f.length > 0) return join(out, dir, f.sort().at(-1)!);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no profile written in ${join(out, dir)}`);
};
const files = profiling ? { mccd: await newest('mccd'), worker: await newest('worker') } : undefined;
await new Promise((r) => setTimeout(r, 500)); // the file is complete once the process is gone
await running.stop();

const report: Record<string, unknown> = {
  seconds,
  completed: load.ok,
  errors: load.errors,
  connPerSec: load.connPerSec,
  cpuUsPerConnection: {
    mccd: Math.round((cpu.mccd * 1000) / load.ok),
    worker: Math.round((cpu.worker * 1000) / load.ok),
  },
};
for (const who of ['mccd', 'worker'] as const) {
  if (!files || !existsSync(files[who])) continue;
  const profile = JSON.parse(readFileSync(files[who], 'utf8')) as CpuProfile;
  const split = perConnection(profile, load.ok);
  // The profile samples wall time, so a process waiting for a core (2 cores, a load generator and
  // other work) looks busy longer than it ran: each part's share of the busy samples, times the CPU
  // the process really used (/proc), is its CPU per connection.
  const busy = Object.entries(split.usPerConnection)
    .filter(([k]) => k !== 'idle')
    .reduce((a, [, v]) => a + v, 0);
  const cpuUs = (report.cpuUsPerConnection as Record<string, number>)[who]!;
  report[who] = {
    ...split,
    cpuUsPerConnectionByPart: Object.fromEntries(
      Object.entries(split.usPerConnection)
        .filter(([k]) => k !== 'idle')
        .map(([k, v]) => [k, Math.round((v / busy) * cpuUs * 10) / 10]),
    ),
  };
}
console.log(JSON.stringify(report, null, 1));
