import { cpus } from 'node:os';
import {
  B1_RELATIVE_LOAD,
  type B1Open,
  type B1Relative,
  type B1Server,
  b1Prose,
  b1RelativeTable,
  b1Row,
} from './b1-prose.js';
import type { LoadReport } from './loadgen.js';
import { loadInChild, type Running, startBare, startMccd } from './procs.js';
import { median, type Section } from './stats.js';

/**
 * B1: connections through mccd to the reference worker against a bare Node server, a closed loop at 64
 * concurrent, an open loop at half the bare server's closed-loop rate of the same repeat (issue #21's
 * load-relative p99) and open loops at fixed offered rates. Baseline and mccd alternate within each
 * repeat, so a drift in the machine's load touches both alike.
 */
const RATES = [500, 1000, 2000];
const DURATION_MS = 3000;

const targets: { name: string; start: () => Promise<Running> }[] = [
  { name: 'bare Node server (baseline)', start: startBare },
  { name: 'mccd + reference worker', start: () => startMccd({ workers: 1 }) },
];

interface Runs {
  closed: LoadReport[];
  open: Record<number, LoadReport[]>;
  /** One open loop per repeat at that repeat's load-relative rate. */
  relative: LoadReport[];
}

const med = (rs: LoadReport[], k: keyof LoadReport) => median(rs.map((r) => r[k] as number));
const sum = (rs: LoadReport[], k: 'ok' | 'errors' | 'started') => rs.reduce((a, r) => a + (r[k] ?? 0), 0);

function summarise(name: string, runs: Runs): B1Server {
  return {
    name,
    closed: {
      connPerSec: med(runs.closed, 'connPerSec'),
      ok: sum(runs.closed, 'ok'),
      errors: sum(runs.closed, 'errors'),
    },
    open: RATES.map((rate): B1Open => {
      const rs = runs.open[rate]!;
      return {
        offeredPerSec: rate,
        achievedPerSec: med(rs, 'connPerSec'),
        p50Ms: med(rs, 'p50Ms'),
        p99Ms: med(rs, 'p99Ms'),
        started: sum(rs, 'started'),
        ok: sum(rs, 'ok'),
        errors: sum(rs, 'errors'),
      };
    }),
  };
}

const openOf = (r: LoadReport): B1Open => ({
  offeredPerSec: r.offeredPerSec ?? Number.NaN,
  achievedPerSec: r.connPerSec,
  p50Ms: r.p50Ms,
  p99Ms: r.p99Ms,
  started: r.started ?? 0,
  ok: r.ok,
  errors: r.errors,
});

export async function b1(repeat: number): Promise<Section> {
  const runs: Runs[] = targets.map(() => ({ closed: [], open: {}, relative: [] }));
  for (let i = 0; i < repeat; i++) {
    // Set by the baseline's closed loop (targets[0]) and used by both servers in this repeat.
    let relativeRate = 0;
    for (const [t, target] of targets.entries()) {
      const server = await target.start();
      const into = runs[t]!;
      try {
        loadInChild({ port: server.port, mode: 'closed', concurrency: 8, durationMs: 500 }); // warm-up
        const closed = loadInChild({
          port: server.port,
          mode: 'closed',
          concurrency: 64,
          durationMs: DURATION_MS,
        });
        into.closed.push(closed);
        if (t === 0) relativeRate = Math.max(1, Math.round(B1_RELATIVE_LOAD * closed.connPerSec));
        into.relative.push(
          loadInChild({ port: server.port, mode: 'open', rate: relativeRate, durationMs: DURATION_MS }),
        );
        for (const rate of RATES)
          into.open[rate] = [
            ...(into.open[rate] ?? []),
            loadInChild({ port: server.port, mode: 'open', rate, durationMs: DURATION_MS }),
          ];
      } finally {
        await server.stop();
      }
    }
  }
  const [baseline, mccd] = targets.map((t, i) => summarise(t.name, runs[i]!)) as [B1Server, B1Server];
  const relative: B1Relative[] = runs[0]!.relative.map((r, i) => ({
    baseline: openOf(r),
    mccd: openOf(runs[1]!.relative[i]!),
  }));
  const numbers = { cores: cpus().length, baseline, mccd, relative };
  return {
    title: `B1 handoff: connections through mccd to a worker vs a bare server (median of ${repeat})`,
    lines: [
      `| server | conn/s (closed loop, 64 concurrent) | × baseline | closed loop completed, errors (sum) | ${RATES.map((r) => `p50 / p99 ms (achieved/s, errors) @ ${r}/s offered`).join(' | ')} |`,
      `| --- | --- | --- | --- | ${RATES.map(() => '---').join(' | ')} |`,
      b1Row(baseline, baseline.closed.connPerSec),
      b1Row(mccd, baseline.closed.connPerSec),
      '',
      `**Load-relative p99**: open loops at ${B1_RELATIVE_LOAD}× the bare server's closed-loop conn/s, measured in the same repeat just before, against both servers:`,
      '',
      ...b1RelativeTable(numbers),
      '',
      ...b1Prose(numbers),
    ],
  };
}
