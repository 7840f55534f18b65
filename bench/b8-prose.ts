import { fmt, verdict } from './stats.js';

/** B8's verdicts and explanation as a pure function of the run's numbers. */
export interface B8Probe {
  sent: number;
  answered: number;
  failures: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** Answered, but in the target's time or more. */
  over100: number;
}

export interface B8Numbers {
  nofile: number;
  idle: number;
  sources: number;
  flooders: number;
  floodSeconds: number;
  opened: number;
  floodErrors: number;
  heldMedian: number;
  heldMin: number;
  shed: number;
  timeouts: number;
  acceptErrors: number;
  up: boolean;
  fdsMax: number;
  fdsMedian: number;
  /** mccd's CPU during the flood, as a share of one core. */
  mccdCpuShare: number;
  before: B8Probe;
  during: B8Probe;
  after?: B8Probe;
  p99TargetMs: number;
}

export function b8Prose(n: B8Numbers): string[] {
  const d = n.during;
  const allAnswered = d.answered === d.sent && d.sent > 0;
  const underCap = n.fdsMax < n.nofile;
  const fast = allAnswered && d.p99 < n.p99TargetMs;
  const lines = [
    `Targets: mccd stays up — ${verdict(n.up)}; its fds stay under its cap — ${verdict(underCap)} (at most ${fmt(n.fdsMax, 0)} of ${fmt(n.nofile, 0)}); a real client's NEGOTIATE is answered every time — ${verdict(allAnswered)} (${fmt(d.answered, 0)} of ${fmt(d.sent, 0)}); p99 < ${n.p99TargetMs} ms — ${verdict(fast)} (p99 ${fmt(d.p99)} ms, against ${fmt(n.before.p99)} ms before the flood).`,
  ];
  const ratio = d.p50 / n.before.p50;
  const slower =
    Number.isFinite(ratio) && ratio >= 1.5
      ? `The flood made the median NEGOTIATE ${fmt(ratio)}× slower (${fmt(n.before.p50)} → ${fmt(d.p50)} ms)`
      : `The median NEGOTIATE stayed within 1.5× of the baseline (${fmt(n.before.p50)} → ${fmt(d.p50)} ms)`;
  const tail =
    d.over100 > 0
      ? `; ${d.over100} of ${fmt(d.answered, 0)} took ${n.p99TargetMs} ms or more, the slowest ${fmt(d.max)} ms.`
      : `; none took ${n.p99TargetMs} ms or more.`;
  lines.push(`${slower}${tail}`);
  const held =
    n.heldMedian >= n.idle * 0.95
      ? `The flooders held ${fmt(n.heldMedian, 0)} established connections (median of their samples) of the ${fmt(n.idle, 0)} they asked for`
      : `The flooders held only ${fmt(n.heldMedian, 0)} established connections (median of their samples) of the ${fmt(n.idle, 0)} they asked for`;
  lines.push(
    `${held}, ${fmt(n.opened / n.floodSeconds, 0)} opened a second: mccd shed ${fmt(n.shed, 0)} (the overall bound keeps ${fmt(10_000, 0)} waiting, so every connection past it closes the oldest) and closed ${fmt(n.timeouts, 0)} at their deadline; ${n.acceptErrors === 0 ? 'no accept failed' : `${fmt(n.acceptErrors, 0)} accept(s) failed`}. mccd used ${fmt(n.mccdCpuShare * 100, 0)}% of one core meanwhile.`,
  );
  if (n.after) {
    const back = n.after.answered === n.after.sent && n.after.p99 < n.p99TargetMs;
    lines.push(
      back
        ? `After the flood the same probe was answered ${fmt(n.after.answered, 0)} of ${fmt(n.after.sent, 0)} times, p99 ${fmt(n.after.p99)} ms: back to the baseline.`
        : `After the flood the same probe was answered ${fmt(n.after.answered, 0)} of ${fmt(n.after.sent, 0)} times, p99 ${fmt(n.after.p99)} ms.`,
    );
  }
  return lines;
}
