import { fmt, percentile, verdict } from './stats.js';

/**
 * B2's table and explanation as a pure function of the run's numbers. The target is relative to the
 * floor measured in the same run (the same clients, the same sockets closed by a plain server with no mccd
 * in the loop), so a slow machine moves both; the p99 counts only when every affected channel closed,
 * every channel opened and no unaffected channel closed, in both runs.
 */
export interface B2Run {
  opened: number;
  /** Channels that never got their NEGOTIATE response during setup. */
  setupFailures: number;
  setupSeconds: number;
  /** Open channels of the clients with a channel on the released address. */
  affected: number;
  /** Release → EOF at the client, ms, one per affected channel that closed. */
  closeLatenciesMs: number[];
  unaffectedClosed: number;
}

export interface B2Numbers {
  cores: number;
  clients: number;
  /** Load processes, each with its own worker in mccd. */
  workers: number;
  windowMs: number;
  mccd: B2Run;
  floor: B2Run;
}

export const B2_FLOOR_RATIO_TARGET = 1.3;

function complete(r: B2Run, clients: number): { allOpened: boolean; allClosed: boolean; clean: boolean } {
  const allOpened = r.opened === clients * 4 && r.setupFailures === 0;
  const allClosed = r.closeLatenciesMs.length === r.affected && r.affected > 0;
  return { allOpened, allClosed, clean: allOpened && allClosed && r.unaffectedClosed === 0 };
}

export function b2Lines(n: B2Numbers): string[] {
  const p = (r: B2Run, q: number) => percentile(r.closeLatenciesMs, q);
  const m = complete(n.mccd, n.clients);
  const f = complete(n.floor, n.clients);
  const ratio = p(n.mccd, 99) / p(n.floor, 99);
  const met = m.clean && f.clean && ratio <= B2_FLOOR_RATIO_TARGET;
  const row = (label: string, r: B2Run) =>
    `| ${label} | ${fmt(r.opened, 0)} of ${fmt(n.clients * 4, 0)} (${fmt(r.setupFailures, 0)} failed, ${fmt(r.setupSeconds, 1)} s) | ${fmt(r.closeLatenciesMs.length, 0)} of ${fmt(r.affected, 0)} | ${fmt(p(r, 50))} / ${fmt(p(r, 99))} / ${fmt(r.closeLatenciesMs.length ? Math.max(...r.closeLatenciesMs) : Number.NaN)} ms | ${fmt(r.unaffectedClosed, 0)} |`;
  const lines = [
    `| run | channels opened | affected channels closed within ${fmt(n.windowMs / 1000, 0)} s | release → EOF p50 / p99 / max | unaffected channels closed |`,
    '| --- | --- | --- | --- | --- |',
    row(`floor: ${n.workers} plain servers close them, no mccd`, n.floor),
    row(`through mccd (${n.workers} workers)`, n.mccd),
    '',
    `Target: mccd's p99 ≤ ${B2_FLOOR_RATIO_TARGET}× the floor's, every channel opened, every affected channel closed and no unaffected one, in both runs — ${verdict(met)} (${fmt(ratio)}×: ${fmt(p(n.mccd, 99))} ms against ${fmt(p(n.floor, 99))} ms).`,
    `One run of each, floor first. Through mccd the release enters by mccd's event endpoint, the path 09.mcc.script takes; mccd resets the affected channels (SOCK_DESTROY, as root) and orders their workers to close them; the clock stops when the client process sees the close. The floor's servers (one per client process, as mccd has one worker per client process) close the same channels on a line on their stdin. ${n.workers} client processes, mccd and ${n.workers} workers share ${n.cores} core(s).`,
  ];
  const gaps: string[] = [];
  for (const [label, r, c] of [
    ['through mccd', n.mccd, m],
    ['the floor', n.floor, f],
  ] as const) {
    if (!c.allOpened)
      gaps.push(
        `${label}: ${fmt(n.clients * 4 - r.opened, 0)} channels never opened (${fmt(r.setupFailures, 0)} failed)`,
      );
    if (!c.allClosed)
      gaps.push(
        `${label}: ${fmt(r.affected - r.closeLatenciesMs.length, 0)} of ${fmt(r.affected, 0)} affected channels did not close within ${fmt(n.windowMs / 1000, 0)} s`,
      );
    if (r.unaffectedClosed > 0)
      gaps.push(`${label}: ${fmt(r.unaffectedClosed, 0)} unaffected channels closed`);
  }
  if (!met && m.clean && f.clean)
    gaps.push(
      `mccd's closes arrived from ${fmt(Math.min(...n.mccd.closeLatenciesMs))} to ${fmt(Math.max(...n.mccd.closeLatenciesMs))} ms after the release (quartiles ${fmt(p(n.mccd, 25))} / ${fmt(p(n.mccd, 50))} / ${fmt(p(n.mccd, 75))} ms), the floor's from ${fmt(Math.min(...n.floor.closeLatenciesMs))} to ${fmt(Math.max(...n.floor.closeLatenciesMs))} ms`,
    );
  if (gaps.length)
    lines.push(`Gap: ${gaps.join('; ')}. Earlier experiments are in bench/NOTES.md, with their dates.`);
  return lines;
}
