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
  /** mccd's negotiate.deferAccept (TCP_DEFER_ACCEPT on its listener). */
  deferAccept: boolean;
  nofile: number;
  idle: number;
  sources: number;
  flooders: number;
  floodSeconds: number;
  opened: number;
  floodErrors: number;
  heldMedian: number;
  heldMin: number;
  /** Connections mccd took from accept() during the flood: handed on or closed for any reason. */
  accepted: number;
  shed: number;
  timeouts: number;
  acceptErrors: number;
  up: boolean;
  fdsMax: number;
  fdsMedian: number;
  /** mccd's VmRSS before the flood and the most seen during it, MiB. */
  rssBefore: number;
  rssMax: number;
  /** After the post-flood baseline (~10 s after the flood), without a forced collection. */
  rssAfter: number;
  /** Connections the kernel dropped at a full accept queue during the flood (TcpExt ListenDrops). */
  listenDrops: number;
  /** The fullest of the listeners' accept queues (ss), sampled during the flood. */
  queueMedian: number;
  queueMax: number;
  /** mccd on a CPU, and waiting runnable for one (schedstat), as shares of the flood's wall time. */
  mccdCpuShare: number;
  mccdWaitShare: number;
  before: B8Probe;
  during: B8Probe;
  after?: B8Probe;
  p99TargetMs: number;
}

function targets(n: B8Numbers): { line: string; met: boolean } {
  const d = n.during;
  const allAnswered = d.answered === d.sent && d.sent > 0;
  const underCap = n.fdsMax < n.nofile;
  const fast = allAnswered && d.p99 < n.p99TargetMs;
  return {
    met: n.up && underCap && fast,
    line: `mccd stays up — ${verdict(n.up)}; its fds stay under its cap — ${verdict(underCap)} (at most ${fmt(n.fdsMax, 0)} of ${fmt(n.nofile, 0)}); a real client's NEGOTIATE is answered every time — ${verdict(allAnswered)} (${fmt(d.answered, 0)} of ${fmt(d.sent, 0)}); p99 < ${n.p99TargetMs} ms — ${verdict(fast)} (p99 ${fmt(d.p99)} ms, against ${fmt(n.before.p99)} ms before the flood)`,
  };
}

function slowdown(n: B8Numbers): string {
  const d = n.during;
  const ratio = d.p50 / n.before.p50;
  const median =
    Number.isFinite(ratio) && ratio >= 1.5
      ? `the median NEGOTIATE ${fmt(ratio)}× slower than before the flood (${fmt(n.before.p50)} → ${fmt(d.p50)} ms)`
      : `the median NEGOTIATE within 1.5× of the baseline (${fmt(n.before.p50)} → ${fmt(d.p50)} ms)`;
  const tail =
    d.over100 > 0
      ? `${d.over100} of ${fmt(d.answered, 0)} took ${n.p99TargetMs} ms or more (the slowest ${fmt(d.max)} ms)`
      : `none took ${n.p99TargetMs} ms or more`;
  return `${median}; ${tail}`;
}

/** `on`: mccd as configured by default (deferAccept); `off`: the same without it, as before. */
export function b8Prose(on: B8Numbers, off: B8Numbers): string[] {
  const t = targets(on);
  const lines = [
    `Targets (default configuration, deferAccept on): ${t.line}. Without deferAccept: ${targets(off).line}.`,
  ];
  for (const n of [off, on]) {
    const label = n.deferAccept ? 'With deferAccept' : 'Without deferAccept';
    const held =
      n.heldMedian >= n.idle * 0.95
        ? `the flooders held ${fmt(n.heldMedian, 0)} established connections (median of their samples)`
        : `the flooders held only ${fmt(n.heldMedian, 0)} established connections (median of their samples)`;
    lines.push(
      `${label}, ${held} and opened ${fmt(n.opened / n.floodSeconds, 0)} a second; mccd accepted ${fmt(n.accepted, 0)}, shed ${fmt(n.shed, 0)} and closed ${fmt(n.timeouts, 0)} at their deadline, its fullest accept queue at ${fmt(n.queueMedian, 0)} (median; at most ${fmt(n.queueMax, 0)}; ${fmt(n.listenDrops, 0)} connection(s) dropped at a full queue, each retried by its client after at least 200 ms, Linux's least retransmission timeout); mccd ran ${fmt(n.mccdCpuShare * 100, 0)}% of the time and waited for a CPU ${fmt(n.mccdWaitShare * 100, 0)}%; its RSS went from ${fmt(n.rssBefore, 1)} to at most ${fmt(n.rssMax, 1)} MiB with up to ${fmt(n.fdsMax, 0)} fds open (${fmt(((n.rssMax - n.rssBefore) * 1024) / Math.max(1, n.fdsMax), 2)} KB per fd at most), and was ${fmt(n.rssAfter, 1)} MiB 10 s after the flood. The flood made ${slowdown(n)}.`,
    );
  }
  const cut = off.accepted > 0 && on.accepted < off.accepted * 0.5;
  const faster = on.during.p99 < off.during.p99;
  lines.push(
    cut
      ? `TCP_DEFER_ACCEPT kept ${fmt((1 - on.accepted / off.accepted) * 100, 0)}% of the flood out of mccd (${fmt(off.accepted, 0)} → ${fmt(on.accepted, 0)} accepted): a connection that sends nothing waits in the kernel, not in mccd's pending set, so it is not shed and re-opened at once${faster ? `, and the probe's p99 went from ${fmt(off.during.p99)} to ${fmt(on.during.p99)} ms` : `, yet the probe's p99 did not improve (${fmt(off.during.p99)} → ${fmt(on.during.p99)} ms)`}.`
      : `TCP_DEFER_ACCEPT did not keep most of the flood out of mccd in this run (${fmt(off.accepted, 0)} → ${fmt(on.accepted, 0)} accepted; probe p99 ${fmt(off.during.p99)} → ${fmt(on.during.p99)} ms).`,
  );
  for (const n of [off, on])
    if (n.after)
      lines.push(
        `After the flood (${n.deferAccept ? 'deferAccept on' : 'off'}) the probe was answered ${fmt(n.after.answered, 0)} of ${fmt(n.after.sent, 0)} times, p99 ${fmt(n.after.p99)} ms.`,
      );
  return lines;
}
