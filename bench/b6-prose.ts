import { counts, fmt, verdict } from './stats.js';

/**
 * B6's verdicts and explanation as a pure function of the run's numbers: every claim ("pulls ahead",
 * "none lost", SYN retransmits, the core count) is made only when this run's numbers show it, so a fresh
 * date never sits above a sentence from another run.
 */
export interface B6Cell {
  connPerSec: number;
  p99Ms: number;
  /** The whole machine's CPU (load generator taken out) per completed connection. */
  cpuMsPerConn: number;
  /** mccd's own process CPU per completed connection; NaN for (a), which has no mccd. */
  mccdCpuMsPerConn: number;
  /** Completed connections, summed over repeats. */
  ok: number;
  errors: number;
}

export interface B6Burst {
  seconds: number;
  /** Median completed of `offered`. */
  ok: number;
  offered: number;
  errors: number;
  okPerSec: number;
}

/** One concurrency of (c), for the target on mccd's own CPU. */
export interface B6PoolCpu {
  concurrency: number;
  /** Median over runs. */
  mccdCpuMsPerConn: number;
  /** The fewest connections one run completed: /proc's tick weighs most there. */
  fewestOk: number;
  errors: number;
}

export interface B6Numbers {
  cores: number;
  at64: { a: B6Cell; b: B6Cell; c: B6Cell };
  burst: { a: B6Burst; c: B6Burst };
  pool: B6PoolCpu[];
  /** The step of /proc's CPU times (10 ms at USER_HZ 100). */
  tickMs: number;
}

export const B6_RATE_TARGET = 1.2;
export const B6_P99_TARGET_MS = 100;
export const B6_MCCD_CPU_TARGET_MS = 0.3;

/** A cell of mccd's own CPU, in µs: there is none without mccd. */
export function b6MccdCpuCell(ms: number): string {
  return Number.isFinite(ms) ? fmt(ms * 1000, 0) : '—';
}

/** Linux's first SYN retransmit comes after 1 s: a p99 at or above it says a SYN was dropped. */
const SYN_RETRANSMIT_MS = 1000;

const lossless = (b: B6Burst) => b.errors === 0 && b.ok === b.offered;

/** Judged on every concurrency of (c): the worst one has to stay under the target. */
function mccdCpuTarget(n: B6Numbers): string {
  const cells = n.pool;
  const worst = cells.reduce<B6PoolCpu | undefined>(
    (w, x) =>
      w === undefined || Number.isNaN(x.mccdCpuMsPerConn) || x.mccdCpuMsPerConn > w.mccdCpuMsPerConn ? x : w,
    undefined,
  );
  const errors = cells.reduce((s, x) => s + x.errors, 0);
  const met =
    worst !== undefined &&
    worst.mccdCpuMsPerConn <= B6_MCCD_CPU_TARGET_MS &&
    cells.every((x) => Number.isFinite(x.mccdCpuMsPerConn)) &&
    errors === 0;
  const head = `mccd's own CPU per connection through the pool (utime + stime of the mccd process) ≤ ${fmt(B6_MCCD_CPU_TARGET_MS, 1)} ms at every concurrency, with no errors — ${verdict(met)}`;
  if (worst === undefined) return `${head} (no pool cells)`;
  const fewest = Math.min(...cells.map((x) => x.fewestOk));
  // Each of utime and stime moves in whole ticks, so a run's difference is known to within two ticks.
  const resolutionUs = ((2 * n.tickMs) / fewest) * 1000;
  return `${head} (at most ${b6MccdCpuCell(worst.mccdCpuMsPerConn)} µs, at ${worst.concurrency} concurrent; ${cells.map((x) => `${b6MccdCpuCell(x.mccdCpuMsPerConn)} µs at ${x.concurrency}`).join(', ')}; ${fmt(errors, 0)} errors; /proc counts in ${fmt(n.tickMs, 0)} ms ticks, ±${fmt(resolutionUs, 0)} µs per connection in the run with the fewest, ${fmt(fewest, 0)})`;
}

export function b6Prose(n: B6Numbers): string[] {
  const { a, b, c } = n.at64;
  const rateRatio = c.connPerSec / a.connPerSec;
  // A rate or a latency bought with errors is no result: every verdict needs an error-free subject.
  const rateMet = rateRatio >= B6_RATE_TARGET && c.errors === 0;
  const p99Met = c.p99Ms < B6_P99_TARGET_MS && c.errors === 0;
  const burstMet = lossless(n.burst.c) && n.burst.c.seconds < n.burst.a.seconds;
  const targets = `Targets: (c) ≥ ${fmt(B6_RATE_TARGET, 1)}× (a)'s conn/s at 64 concurrent — ${verdict(rateMet)} (${fmt(rateRatio)}×; (c) ${counts(c)}, (a) ${counts(a)}); (c) p99 < ${B6_P99_TARGET_MS} ms at 64 concurrent — ${verdict(p99Met)} (${fmt(c.p99Ms)} ms); ${mccdCpuTarget(n)}; the ${fmt(n.burst.c.offered, 0)} burst completes, all of it and faster, through (c) than (a) — ${verdict(burstMet)} ((c) ${fmt(n.burst.c.ok, 0)} of ${fmt(n.burst.c.offered, 0)} in ${fmt(n.burst.c.seconds)} s with ${fmt(n.burst.c.errors, 0)} errors; (a) ${fmt(n.burst.a.ok, 0)} of ${fmt(n.burst.a.offered, 0)} in ${fmt(n.burst.a.seconds)} s with ${fmt(n.burst.a.errors, 0)} errors).`;

  const why: string[] = [];
  const cpuBudget = (n.cores * 1000) / 640;
  why.push(
    `With 64 clients back to back the mean latency is 64 ÷ the rate (Little's law), so p99 < 100 ms needs more than 640 conn/s, i.e. under ${fmt(cpuBudget)} ms of CPU per connection on this machine's ${n.cores} core(s); the machine spent ${fmt(a.cpuMsPerConn)} ms per connection in (a) and ${fmt(c.cpuMsPerConn)} ms in (c), of which ${fmt(c.mccdCpuMsPerConn)} ms in mccd's own process.`,
  );
  const burstRatio = n.burst.c.okPerSec / n.burst.a.okPerSec;
  const bc = n.burst.c;
  // The completed count is the median run's, the errors are all runs': a median run can be whole while
  // another run lost connections.
  const losses = lossless(bc)
    ? ', none lost'
    : bc.ok === bc.offered
      ? `; the median run completed all ${fmt(bc.offered, 0)}, but the runs had ${fmt(bc.errors, 0)} errors in all`
      : `, but not all: ${fmt(bc.offered - bc.ok, 0)} short of ${fmt(bc.offered, 0)} in the median run, ${fmt(bc.errors, 0)} errors over all runs`;
  if (burstRatio > 1)
    why.push(
      `In the burst (c) completed ${fmt(burstRatio)}× as many connections per second as (a)${losses}.`,
    );
  else
    why.push(
      `In the burst (c) did not pull ahead of (a): ${fmt(burstRatio)}× its completed connections per second.`,
    );
  if (a.p99Ms >= SYN_RETRANSMIT_MS)
    why.push(
      `(a)'s p99 at 64 concurrent (${fmt(a.p99Ms)} ms) is at or past the 1 s SYN retransmit: connections beyond its listen backlog were dropped and retried.`,
    );
  why.push(
    `(b) shows the exec tax the pool removes: ${fmt(b.cpuMsPerConn)} ms of CPU per connection, ${fmt(b.mccdCpuMsPerConn)} ms of it in mccd's own process.`,
  );
  return [targets, why.join(' ')];
}

/** B6s: the same burst with and without a CPU hog pinned beside the servers. */
export interface B6StarvedNumbers {
  hogs: number;
  cores: number;
  /** The bare Node server's conn/s in each condition: how much slower the starved machine was. */
  bare: { idle: number; starved: number };
  idle: { a: B6Burst; c: B6Burst };
  starved: { a: B6Burst; c: B6Burst };
}

export function b6StarvedProse(n: B6StarvedNumbers): string[] {
  const holds = (x: { a: B6Burst; c: B6Burst }) => x.c.ok >= x.a.ok;
  const line = (name: string, x: { a: B6Burst; c: B6Burst }) =>
    `${name}: the pool completes at least as many as smbd's listener — ${verdict(holds(x))} ((c) ${fmt(x.c.ok, 0)} of ${fmt(x.c.offered, 0)} with ${fmt(x.c.errors, 0)} errors, ${fmt(x.c.okPerSec)}/s; (a) ${fmt(x.a.ok, 0)} of ${fmt(x.a.offered, 0)} with ${fmt(x.a.errors, 0)} errors, ${fmt(x.a.okPerSec)}/s; ratio ${fmt(x.c.ok / Math.max(1, x.a.ok))}×)`;
  const slowdown = n.bare.idle / Math.max(1, n.bare.starved);
  return [
    `Targets: ${line('idle machine', n.idle)}; ${line(`starved machine (${n.hogs} busy loop(s) pinned with taskset, one per core)`, n.starved)}.`,
    `The hog made a bare Node server ${fmt(slowdown)}× slower (${fmt(n.bare.idle, 0)} → ${fmt(n.bare.starved, 0)} conn/s on ${n.cores} core(s)). ${
      holds(n.starved)
        ? 'Starved, the pool still kept up with the listener'
        : "Starved, the pool fell behind smbd's listener"
    }: ${fmt(n.starved.c.ok / Math.max(1, n.idle.c.ok))}× its own idle completions, against ${fmt(n.starved.a.ok / Math.max(1, n.idle.a.ok))}× for the listener.`,
  ];
}
