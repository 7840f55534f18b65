import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type B3Baseline, type B3Registry, b3Lines } from './b3-prose.js';
import { fmt, median, runChild, type Section } from './stats.js';

/** B3: the client registry against plain objects in a Map, alternating in fresh processes per repeat. */
const here = dirname(fileURLToPath(import.meta.url));

type Run = B3Baseline & { snapshotRestoreMs: number; wakeAllMs?: number; check: number };

export function b3(clients: number, repeat: number): Section {
  const script = join(here, 'b3-statecharts.js');
  const reg: Run[] = [];
  const base: Run[] = [];
  for (let i = 0; i < repeat; i++) {
    reg.push(runChild<Run>(script, [String(clients), 'registry']));
    base.push(runChild<Run>(script, [String(clients), 'baseline']));
  }
  for (const r of [...reg, ...base])
    if (r.check !== clients) throw new Error(`B3 restore produced ${r.check} clients, expected ${clients}`);
  const m = (rs: Run[], f: (r: Run) => number) => median(rs.map(f));
  const registry: B3Registry = {
    bytesPerClient: m(reg, (r) => r.bytesPerClient),
    eventsPerSec: m(reg, (r) => r.eventsPerSec),
    snapshotRestoreMs: m(reg, (r) => r.snapshotRestoreMs),
    wakeAllMs: m(reg, (r) => r.wakeAllMs!),
    restoreToLiveMs: m(reg, (r) => r.snapshotRestoreMs + r.wakeAllMs!),
    createMs: m(reg, (r) => r.createMs),
  };
  const baseline: B3Baseline = {
    bytesPerClient: m(base, (r) => r.bytesPerClient),
    eventsPerSec: m(base, (r) => r.eventsPerSec),
    snapshotRestoreMs: m(base, (r) => r.snapshotRestoreMs),
    createMs: m(base, (r) => r.createMs),
  };
  return {
    title: `B3 statecharts: ${fmt(clients)} clients × 4 channels (median of ${repeat} fresh processes)`,
    lines: b3Lines(registry, baseline),
  };
}
