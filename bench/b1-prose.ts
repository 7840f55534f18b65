import { counts, fmt, verdict } from './stats.js';

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
  /** Medians over repeats. */
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

export interface B1Numbers {
  cores: number;
  baseline: B1Server;
  mccd: B1Server;
}

export const B1_RATIO_TARGET = 0.5;
export const B1_P99_TARGET_MS = 2;
export const B1_P99_TARGET_RATE = 2000;
/** Below this share of the offered rate, the run did not hold the rate it claims to measure at. */
export const SUSTAINED_SHARE = 0.95;

const sustained = (o: B1Open) => o.achievedPerSec >= SUSTAINED_SHARE * o.offeredPerSec;

export function b1OpenCell(o: B1Open): string {
  return `${fmt(o.p50Ms)} / ${fmt(o.p99Ms)} (${fmt(o.achievedPerSec)}/s, ${fmt(o.errors, 0)} errors)`;
}

export function b1Row(s: B1Server, baselineConnPerSec: number): string {
  return `| ${s.name} | ${fmt(s.closed.connPerSec)} | ${fmt(s.closed.connPerSec / baselineConnPerSec)}× | ${counts(s.closed)} | ${s.open.map(b1OpenCell).join(' | ')} |`;
}

export function b1Prose(n: B1Numbers): string[] {
  const ratio = n.mccd.closed.connPerSec / n.baseline.closed.connPerSec;
  const ratioMet = ratio >= B1_RATIO_TARGET && n.mccd.closed.errors === 0;
  const atTarget = n.mccd.open.find((o) => o.offeredPerSec === B1_P99_TARGET_RATE);
  const p99Met =
    atTarget !== undefined &&
    atTarget.p99Ms < B1_P99_TARGET_MS &&
    atTarget.errors === 0 &&
    sustained(atTarget);
  const atTargetText = atTarget
    ? `${fmt(atTarget.p99Ms)} ms over ${counts(atTarget)}, ${fmt(atTarget.achievedPerSec)}/s achieved of ${fmt(atTarget.offeredPerSec, 0)}/s offered`
    : `no run at ${fmt(B1_P99_TARGET_RATE, 0)}/s`;
  const lines = [
    `Targets: mccd + worker ≥ ${B1_RATIO_TARGET}× the bare server's conn/s with no errors — ${verdict(ratioMet)} (${fmt(ratio)}×; mccd ${counts(n.mccd.closed)}, baseline ${counts(n.baseline.closed)}); p99 < ${B1_P99_TARGET_MS} ms at ${fmt(B1_P99_TARGET_RATE, 0)} conn/s, sustained and with no errors — ${verdict(p99Met)} (${atTargetText}).`,
  ];
  const shortfalls = [n.baseline, n.mccd].flatMap((s) =>
    s.open
      .filter((o) => !sustained(o))
      .map(
        (o) =>
          `${s.name} achieved ${fmt(o.achievedPerSec)}/s of ${fmt(o.offeredPerSec, 0)}/s offered (${fmt((100 * o.achievedPerSec) / o.offeredPerSec, 0)}%, ${fmt(o.started, 0)} started)`,
      ),
  );
  lines.push(
    shortfalls.length
      ? `Offered rate not sustained: ${shortfalls.join('; ')}; the latencies in those cells are not latencies at the offered rate.`
      : `Every open-loop cell achieved at least ${SUSTAINED_SHARE * 100}% of its offered rate.`,
  );
  lines.push(
    `Each connection is connect → NEGOTIATE → response (STATUS_SUCCESS, or it is an error) → close; the open-loop cells show p50 / p99 ms of the completed connections, the achieved rate and the errors. Load generator, mccd and worker are separate processes on the same ${n.cores} core(s), so the generator competes with what it measures (so does it for the baseline); baseline and mccd alternate within each repeat.`,
  );
  return lines;
}
