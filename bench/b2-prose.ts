import { fmt, percentile, verdict } from './stats.js';

/**
 * B2's table and explanation as a pure function of the run's numbers: the p99 is over the channels that
 * closed, so the verdict also needs every affected channel closed and every channel opened, and the
 * account of a missed target names this run's counts, processes and cores.
 */
export interface B2Numbers {
  cores: number;
  clients: number;
  opened: number;
  /** Channels that never got their NEGOTIATE response during setup. */
  setupFailures: number;
  setupSeconds: number;
  /** Load processes, each with its own worker in mccd. */
  workers: number;
  /** Open channels of the clients with a channel on the released address. */
  affected: number;
  /** RELEASE_IP → EOF at the client, ms, one per affected channel that closed. */
  closeLatenciesMs: number[];
  unaffectedClosed: number;
  windowMs: number;
}

export const B2_P99_TARGET_MS = 250;

export function b2Lines(n: B2Numbers): string[] {
  const closed = n.closeLatenciesMs.length;
  const at = (p: number) => percentile(n.closeLatenciesMs, p);
  const first = closed ? Math.min(...n.closeLatenciesMs) : Number.NaN;
  const last = closed ? Math.max(...n.closeLatenciesMs) : Number.NaN;
  const expected = n.clients * 4;
  const allOpened = n.opened === expected && n.setupFailures === 0;
  const allClosed = closed === n.affected && n.affected > 0;
  const p99Met = at(99) < B2_P99_TARGET_MS && allClosed && allOpened;
  const lines = [
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| channels open before the release | ${fmt(n.opened, 0)} of ${fmt(expected, 0)}, ${fmt(n.setupFailures, 0)} failed (set up in ${fmt(n.setupSeconds, 1)} s through mccd) | all, 0 failed |`,
    `| affected channels (every channel of an affected client) | ${fmt(n.affected, 0)}, closed within ${fmt(n.windowMs / 1000, 0)} s: ${fmt(closed, 0)} | all |`,
    `| RELEASE_IP → EOF at the client, p50 / p99 / max | ${fmt(at(50))} / ${fmt(at(99))} / ${fmt(last)} ms (of the ${fmt(closed, 0)} that closed) | p99 < ${B2_P99_TARGET_MS} ms, every affected channel closed, every channel opened: ${verdict(p99Met)} |`,
    `| unaffected channels that closed | ${fmt(n.unaffectedClosed, 0)} | 0: ${verdict(n.unaffectedClosed === 0)} |`,
    '',
    `One run: setting up ${fmt(n.opened, 0)} connections took ${fmt(n.setupSeconds, 1)} s, the release and its observation ${fmt(n.windowMs / 1000, 0)} s. The release enters through mccd's event endpoint, the path 99.mcc.script takes; mccd orders each owning worker (${n.workers} processes) to close the client's channels, and the clock stops when the client process sees the close.`,
  ];
  if (p99Met) return lines;
  const gaps: string[] = [];
  if (!allOpened)
    gaps.push(`${fmt(expected - n.opened, 0)} channels never opened (${fmt(n.setupFailures, 0)} failed)`);
  if (!allClosed)
    gaps.push(
      `${fmt(n.affected - closed, 0)} of ${fmt(n.affected, 0)} affected channels did not close within ${fmt(n.windowMs / 1000, 0)} s`,
    );
  if (closed && at(99) >= B2_P99_TARGET_MS)
    gaps.push(
      `${fmt(Math.ceil(n.clients / 4), 0)} affected clients got one teardown order each, sent to ${n.workers} workers, while ${n.workers * 2 + 1} processes (mccd, workers, client processes) shared ${n.cores} core(s); the closes arrived from ${fmt(first)} to ${fmt(last)} ms after the release (quartiles ${fmt(at(25))} / ${fmt(at(50))} / ${fmt(at(75))} ms)`,
    );
  lines.push(
    `Gap: ${gaps.join('; ')}. Earlier experiments on this gap are in bench/NOTES.md, with their dates.`,
  );
  return lines;
}
