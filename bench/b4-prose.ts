import { fmt } from './stats.js';

/**
 * B4's table and explanation as a pure function of the run's numbers: "the next query already sees the
 * update" is said only when every update was done before the event handler returned.
 */
export interface B4Numbers {
  cachedQps: number;
  encodeEveryQueryQps: number;
  events: number;
  /** Updates done before the event handler returned. */
  synchronous: number;
  /** Events with no update within `lateWaitMs`. */
  missed: number;
  lateWaitMs: number;
  updateP50Us: number;
  updateP99Us: number;
}

export function b4Lines(n: B4Numbers): string[] {
  const late = n.events - n.synchronous - n.missed;
  const timing =
    n.synchronous === n.events
      ? `Every one of the ${fmt(n.events, 0)} updates was done before the event handler returned (re-enumerate, filter, encode), so the next query after an event already sees it.`
      : `Of ${fmt(n.events, 0)} events, ${fmt(n.synchronous, 0)} were answered before the event handler returned, ${fmt(late, 0)} later and ${fmt(n.missed, 0)} not within ${fmt(n.lateWaitMs, 0)} ms (those are not in the percentiles), so a query right after an event can still get the old list.`;
  return [
    '| measure | mcc | baseline | ratio |',
    '| --- | --- | --- | --- |',
    `| queries/s answered | ${fmt(n.cachedQps)} (cached encoded answer) | ${fmt(n.encodeEveryQueryQps)} (encode on every query) | ${fmt(n.cachedQps / n.encodeEveryQueryQps)}× |`,
    `| TAKE_IP/RELEASE_IP received → updated answer | p50 ${fmt(n.updateP50Us)} µs, p99 ${fmt(n.updateP99Us)} µs (${fmt(n.events - n.missed, 0)} of ${fmt(n.events, 0)} events updated) | | |`,
    '',
    `${timing} This is the in-process part only; what a real cluster adds (ctdbd and its event scripts) is a dated note in bench/NOTES.md.`,
  ];
}
