import { counts, fmt, median, verdict } from './stats.js';

/**
 * B1's table cells and verdicts as a pure function of the run's numbers. A p99 describes only the
 * connections that succeeded, so it is never printed without the errors beside it, and a latency at a
 * rate the server did not sustain is not a latency at that rate: the verdicts need both.
 */
export interface B1Closed {
  connPerSec: number;
  /** Completed and failed connections, summed over repeats. */
  ok: number;
  errors: number;
}

export interface B1Open {
  offeredPerSec: number;
  /** Medians over repeats (one repeat's own figures in a B1Relative). */
  achievedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Sums over repeats. */
  started: number;
  ok: number;
  errors: number;
}

export interface B1Server {
  name: string;
  closed: B1Closed;
  open: B1Open[];
}

/**
 * One repeat's open loops at a share (B1_RELATIVE_LOAD) of the bare server's closed-loop rate measured
 * just before in that repeat, at the same offered rate for both: a p99 means something only against
 * the bare server's p99 under the same load on the same machine at the same time.
 */
export interface B1Relative {
  baseline: B1Open;
  mccd: B1Open;
}

export interface B1Numbers {
  cores: number;
  baseline: B1Server;
  mccd: B1Server;
  relative: B1Relative[];
}

export const B1_RATIO_TARGET = 0.75;
/** The load-relative p99 is taken at this share of the bare server's measured closed-loop rate… */
export const B1_RELATIVE_LOAD = 0.5;
/** …where mccd + worker's p99 may be at most this multiple of the bare server's. */
export const B1_P99_RATIO_TARGET = 2;
/** Below this share of the offered rate, the run did not hold the rate it claims to measure at. */
export const SUSTAINED_SHARE = 0.95;

const sustained = (o: B1Open) => o.achievedPerSec >= SUSTAINED_SHARE * o.offeredPerSec;
const p99Ratio = (r: B1Relative) => r.mccd.p99Ms / r.baseline.p99Ms;
const sumOf = (os: B1Open[], k: 'ok' | 'errors') => os.reduce((a, o) => a + o[k], 0);

export function b1OpenCell(o: B1Open): string {
  return `${fmt(o.p50Ms)} / ${fmt(o.p99Ms)} (${fmt(o.achievedPerSec)}/s, ${fmt(o.errors, 0)} errors)`;
}

export function b1Row(s: B1Server, baselineConnPerSec: number): string {
  return `| ${s.name} | ${fmt(s.closed.connPerSec)} | ${fmt(s.closed.connPerSec / baselineConnPerSec)}× | ${counts(s.closed)} | ${s.open.map(b1OpenCell).join(' | ')} |`;
}

/** The load-relative table: one row per repeat (its own rate and both servers' cells), then the medians. */
export function b1RelativeTable(n: B1Numbers): string[] {
  const rs = n.relative;
  return [
    `| repeat | offered/s (${fmt(B1_RELATIVE_LOAD)}× the bare server's closed-loop conn/s in that repeat) | ${n.baseline.name}: p50 / p99 ms (achieved/s, errors) | ${n.mccd.name}: p50 / p99 ms (achieved/s, errors) | mccd p99 ÷ bare p99 |`,
    '| --- | --- | --- | --- | --- |',
    ...rs.map(
      (r, i) =>
        `| ${i + 1} | ${fmt(r.baseline.offeredPerSec, 0)} | ${b1OpenCell(r.baseline)} | ${b1OpenCell(r.mccd)} | ${fmt(p99Ratio(r))}× |`,
    ),
    `| median | ${fmt(median(rs.map((r) => r.baseline.offeredPerSec)), 0)} | p99 ${fmt(median(rs.map((r) => r.baseline.p99Ms)))} | p99 ${fmt(median(rs.map((r) => r.mccd.p99Ms)))} | ${fmt(median(rs.map(p99Ratio)))}× |`,
  ];
}

function relativeVerdict(n: B1Numbers): string {
  const rs = n.relative;
  if (rs.length === 0)
    return `mccd + worker's p99 ≤ ${B1_P99_RATIO_TARGET}× the bare server's at ${fmt(B1_RELATIVE_LOAD)}× its closed-loop rate — ${verdict(false)} (no load-relative run)`;
  const ratio = median(rs.map(p99Ratio));
  const mccd = rs.map((r) => r.mccd);
  const bare = rs.map((r) => r.baseline);
  // Either side short of the offered rate, or with errors, leaves a p99 that is not one at that rate.
  const clean = [...mccd, ...bare].every((o) => o.errors === 0 && sustained(o));
  const met = ratio <= B1_P99_RATIO_TARGET && clean;
  const shortOf = (os: B1Open[]) => os.filter((o) => !sustained(o)).length;
  const problems = [
    ...(shortOf(mccd) ? [`mccd short of the offered rate in ${shortOf(mccd)} of ${rs.length} repeats`] : []),
    ...(shortOf(bare) ? [`the bare server short of it in ${shortOf(bare)} of ${rs.length}`] : []),
  ];
  return `mccd + worker's p99 ≤ ${B1_P99_RATIO_TARGET}× the bare server's p99 at ${fmt(B1_RELATIVE_LOAD)}× the bare server's closed-loop conn/s (same offered rate, same repeat), sustained and with no errors — ${verdict(met)} (median ratio ${fmt(ratio)}×, median p99 ${fmt(median(mccd.map((o) => o.p99Ms)))} ms against ${fmt(median(bare.map((o) => o.p99Ms)))} ms at a median ${fmt(median(bare.map((o) => o.offeredPerSec)), 0)}/s offered; mccd ${counts({ ok: sumOf(mccd, 'ok'), errors: sumOf(mccd, 'errors') })}, baseline ${counts({ ok: sumOf(bare, 'ok'), errors: sumOf(bare, 'errors') })}${problems.length ? `; ${problems.join(', ')}` : ''})`;
}

export function b1Prose(n: B1Numbers): string[] {
  const ratio = n.mccd.closed.connPerSec / n.baseline.closed.connPerSec;
  const ratioMet = ratio >= B1_RATIO_TARGET && n.mccd.closed.errors === 0;
  const lines = [
    `Targets: mccd + worker ≥ ${fmt(B1_RATIO_TARGET)}× the bare server's conn/s (closed loop) with no errors — ${verdict(ratioMet)} (${fmt(ratio)}×; mccd ${counts(n.mccd.closed)}, baseline ${counts(n.baseline.closed)}); ${relativeVerdict(n)}.`,
  ];
  if (n.relative.length) {
    // How close to its own limit each server ran: a p99 near saturation is a queue, not a handoff.
    const offered = median(n.relative.map((r) => r.baseline.offeredPerSec));
    const use = (s: B1Server) => fmt((100 * offered) / s.closed.connPerSec, 0);
    lines.push(
      `At the load-relative rate (median ${fmt(offered, 0)}/s) the bare server ran at ${use(n.baseline)}% of its median closed-loop conn/s and mccd + worker at ${use(n.mccd)}% of its own${
        offered >= n.mccd.closed.connPerSec
          ? ': mccd + worker was offered more than its closed loop completed, so its queue could only grow and its p99 there measures that queue'
          : ''
      }.`,
    );
  }
  const cells = [
    ...[n.baseline, n.mccd].flatMap((s) => s.open.map((o) => ({ who: s.name, o, where: '' }))),
    ...n.relative.flatMap((r, i) =>
      [
        [n.baseline.name, r.baseline],
        [n.mccd.name, r.mccd],
      ].map(([who, o]) => ({
        who: who as string,
        o: o as B1Open,
        where: ` at the load-relative rate (repeat ${i + 1})`,
      })),
    ),
  ];
  const shortfalls = cells
    .filter((c) => !sustained(c.o))
    .map(
      ({ who, o, where }) =>
        `${who}${where} achieved ${fmt(o.achievedPerSec)}/s of ${fmt(o.offeredPerSec, 0)}/s offered (${fmt((100 * o.achievedPerSec) / o.offeredPerSec, 0)}%, ${fmt(o.started, 0)} started)`,
    );
  lines.push(
    shortfalls.length
      ? `Offered rate not sustained: ${shortfalls.join('; ')}; the latencies in those cells are not latencies at the offered rate.`
      : `Every open-loop cell, fixed-rate and load-relative, achieved at least ${SUSTAINED_SHARE * 100}% of its offered rate.`,
  );
  lines.push(
    `Each connection is connect → NEGOTIATE → response (STATUS_SUCCESS, or it is an error) → close; the open-loop cells show p50 / p99 ms of the completed connections, the achieved rate and the errors. In each repeat the bare server's closed loop runs first and sets that repeat's load-relative rate, then mccd + worker runs the same loops at the same rates. Load generator, mccd and worker are separate processes on the same ${n.cores} core(s), so the generator competes with what it measures (so does it for the baseline).`,
  );
  return lines;
}
