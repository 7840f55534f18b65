import { fmt, verdict } from './stats.js';

/**
 * B3's table as a pure function of the run's numbers. The registry restores lazily (an actor is created
 * on a client's first event), so a restore alone is cheap and says little: the restore target is judged
 * on snapshot + restore + waking every client, the cost a node pays before all its clients are live again
 * — what the baseline's JSON round trip already includes.
 */
export interface B3Registry {
  bytesPerClient: number;
  eventsPerSec: number;
  snapshotRestoreMs: number;
  wakeAllMs: number;
  /** Median over repeats of snapshot + restore + wake-all in the same process (not a sum of medians). */
  restoreToLiveMs: number;
  createMs: number;
}

export interface B3Baseline {
  bytesPerClient: number;
  eventsPerSec: number;
  snapshotRestoreMs: number;
  createMs: number;
}

export const B3_BYTES_TARGET = 8192;
export const B3_EVENTS_TARGET = 100_000;
export const B3_RESTORE_TARGET_MS = 2000;

export function b3Lines(reg: B3Registry, base: B3Baseline): string[] {
  return [
    '| measure | mcc (XState registry) | baseline (plain Map of objects) | ratio | target | |',
    '| --- | --- | --- | --- | --- | --- |',
    `| memory per client | ${fmt(reg.bytesPerClient / 1024)} KB | ${fmt(base.bytesPerClient / 1024)} KB | ${fmt(reg.bytesPerClient / base.bytesPerClient)}× | ≤ ${fmt(B3_BYTES_TARGET / 1024, 0)} KB | ${verdict(reg.bytesPerClient <= B3_BYTES_TARGET)} |`,
    `| channel events/s | ${fmt(reg.eventsPerSec)} | ${fmt(base.eventsPerSec)} | ${fmt(reg.eventsPerSec / base.eventsPerSec, 3)}× | ≥ ${fmt(B3_EVENTS_TARGET, 0)} | ${verdict(reg.eventsPerSec >= B3_EVENTS_TARGET)} |`,
    `| snapshot + restore + waking every client (one event each) | ${fmt(reg.restoreToLiveMs)} ms | ${fmt(base.snapshotRestoreMs)} ms (JSON round trip) | ${fmt(reg.restoreToLiveMs / base.snapshotRestoreMs)}× | < ${fmt(B3_RESTORE_TARGET_MS, 0)} ms | ${verdict(reg.restoreToLiveMs < B3_RESTORE_TARGET_MS)} |`,
    `| of which snapshot + lazy restore | ${fmt(reg.snapshotRestoreMs)} ms | | | | |`,
    `| of which waking every restored client | ${fmt(reg.wakeAllMs)} ms | | | | |`,
    `| create (4 accepts each) | ${fmt(reg.createMs)} ms | ${fmt(base.createMs)} ms | ${fmt(reg.createMs / base.createMs)}× | | |`,
    '',
    "The registry restores lazily: an actor is created on a client's first event, so the restore target counts the wake-up of every client, the point at which the baseline's round trip already has every object live. The two parts are medians of their own and need not add up to the total's median.",
  ];
}
