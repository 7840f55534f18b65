import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, runChild, type Section, verdict } from './stats.js';

/** B7: a restart's state file (docs/restart.md) against the least any persistence costs. */
const here = dirname(fileURLToPath(import.meta.url));

interface Run {
  n: number;
  writeMs: number;
  stallMs: number;
  readMs: number;
  restoreMs: number;
  bytes: number;
  check: number;
}

/** How long the event loop may stall while the state is written: a RELEASE_IP waits that long at most. */
export const B7_STALL_TARGET_MS = 50;
/** From reading the state to every client restored: before that the front door does not accept. */
export const B7_RESTORE_TARGET_MS = 1000;

export function b7(clients: number, repeat: number): Section {
  const script = join(here, 'b7-restart.js');
  const mcc: Run[] = [];
  const base: Run[] = [];
  for (let i = 0; i < repeat; i++) {
    mcc.push(runChild<Run>(script, [String(clients), 'mcc']));
    base.push(runChild<Run>(script, [String(clients), 'baseline']));
  }
  for (const r of [...mcc, ...base])
    if (r.check !== clients) throw new Error(`B7 restored ${r.check} clients, expected ${clients}`);
  const m = (rs: Run[], f: (r: Run) => number) => median(rs.map(f));
  const stall = m(mcc, (r) => r.stallMs);
  const toLive = m(mcc, (r) => r.readMs + r.restoreMs);
  return {
    title: `B7 restart: the state file at ${fmt(clients)} clients × 2 channels (median of ${repeat} fresh processes)`,
    lines: [
      '| measure | mcc (state file) | baseline (one JSON.stringify/parse) | ratio | target | |',
      '| --- | --- | --- | --- | --- | --- |',
      `| write | ${fmt(m(mcc, (r) => r.writeMs))} ms (${fmt(m(mcc, (r) => r.bytes) / 1e6)} MB) | ${fmt(m(base, (r) => r.writeMs))} ms | ${fmt(m(mcc, (r) => r.writeMs) / m(base, (r) => r.writeMs))}× | | |`,
      `| longest event-loop stall while writing | ${fmt(stall)} ms | ${fmt(m(base, (r) => r.stallMs))} ms (all of it) | | < ${B7_STALL_TARGET_MS} ms | ${verdict(stall < B7_STALL_TARGET_MS)} |`,
      `| read + check + restore every client | ${fmt(toLive)} ms | ${fmt(m(base, (r) => r.readMs))} ms (parse only) | ${fmt(toLive / m(base, (r) => r.readMs))}× | < ${fmt(B7_RESTORE_TARGET_MS, 0)} ms | ${verdict(toLive < B7_RESTORE_TARGET_MS)} |`,
      `| of which read and check (JSON.parse, then each client checked) | ${fmt(m(mcc, (r) => r.readMs))} ms | | | | |`,
      `| of which restore (lazy, statecharts) | ${fmt(m(mcc, (r) => r.restoreMs))} ms | | | | |`,
      '',
      'The write is what mccd does whenever its clients changed (at most every state.writeIntervalMs, and at most a fifth of the time); the stall is the longest gap a 1 ms timer saw meanwhile, the delay a RELEASE_IP arriving then would see. Read + restore runs before the front door accepts after a restart (docs/restart.md); the reconcile with the kernel and the owners comes on top.',
    ],
  };
}
