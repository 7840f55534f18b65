import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type B5Cell, b5Lines } from './b5-prose.js';
import { median, runChild, type Section } from './stats.js';

/** B5: inline over TCP against shared memory, alternating in fresh processes per repeat. */
const here = dirname(fileURLToPath(import.meta.url));
const CELL_MS = 1500;

interface Run {
  transport: string;
  results: { op: string; size: number; mbPerSec: number; cpuNsPerByte: number }[];
}

export function b5(repeat: number): Section {
  const script = join(here, 'b5-smbdirect.js');
  const runs: Record<'inline' | 'shm', Run[]> = { inline: [], shm: [] };
  for (let i = 0; i < repeat; i++)
    for (const t of ['inline', 'shm'] as const) runs[t].push(runChild<Run>(script, [t, String(CELL_MS)]));
  const m = (t: 'inline' | 'shm', k: number, f: (x: Run['results'][number]) => number) =>
    median(runs[t].map((r) => f(r.results[k]!)));
  const cells = runs.inline[0]!.results.map(
    (r0, k): B5Cell => ({
      op: r0.op,
      size: r0.size,
      inlineMbPerSec: m('inline', k, (x) => x.mbPerSec),
      shmMbPerSec: m('shm', k, (x) => x.mbPerSec),
      inlineCpuNsPerByte: m('inline', k, (x) => x.cpuNsPerByte),
      shmCpuNsPerByte: m('shm', k, (x) => x.cpuNsPerByte),
    }),
  );
  return {
    title: `B5 SMB-Direct test protocol: shared memory vs inline over TCP (median of ${repeat} fresh processes, ${CELL_MS / 1000} s per cell)`,
    lines: b5Lines(cells),
  };
}
