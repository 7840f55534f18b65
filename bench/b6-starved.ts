import { type ChildProcess, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { type B6Burst, b6StarvedProse } from './b6-prose.js';
import type { LoadReport } from './loadgen.js';
import { loadInChild, type Running, startBare, startMccdSmbd, startSmbdListener } from './procs.js';
import { fmt, median, type Section } from './stats.js';

/**
 * B6s: B6's 2,000-connection reconnect burst against (a) smbd's listener and (c) mccd's smbd pool, once
 * on an idle machine and once with a busy loop pinned to every core (`taskset -c N`), as a node looks when
 * something else eats its CPU. Only the burst: the closed loops are B6's.
 */
const POOL_SIZE = 64;
const BURST = 2000;

function startHogs(n: number): ChildProcess[] {
  return Array.from({ length: n }, (_, core) =>
    spawn('taskset', ['-c', String(core), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
  );
}

async function stopHogs(hogs: ChildProcess[]): Promise<void> {
  await Promise.all(
    hogs.map(
      (h) =>
        new Promise<void>((resolve) => {
          if (h.exitCode !== null || h.signalCode !== null) return resolve();
          h.once('exit', () => resolve());
          h.kill('SIGKILL');
        }),
    ),
  );
}

const settle = () => new Promise((r) => setTimeout(r, 1500));

/** A burst against a freshly started server, with the hogs running while it lasts when `starve`. */
async function burstOn(start: () => Promise<Running>, starve: number): Promise<LoadReport> {
  const server = await start();
  // The server is up before its CPU is taken, as a node is; the burst then runs beside the hog.
  const hogs = startHogs(starve);
  try {
    if (starve) await new Promise((r) => setTimeout(r, 500));
    return loadInChild({ port: server.port, mode: 'burst', count: BURST });
  } finally {
    await stopHogs(hogs);
    await server.stop();
    await settle();
  }
}

async function bareRate(): Promise<number> {
  const bare = await startBare();
  try {
    return loadInChild({ port: bare.port, mode: 'closed', concurrency: 16, durationMs: 2000 }).connPerSec;
  } finally {
    await bare.stop();
  }
}

export async function b6Starved(repeat: number): Promise<Section> {
  const cores = cpus().length;
  const runs = {
    idle: { a: [] as LoadReport[], c: [] as LoadReport[] },
    starved: { a: [] as LoadReport[], c: [] as LoadReport[] },
  };
  const bare = { idle: [] as number[], starved: [] as number[] };
  for (let i = 0; i < repeat; i++) {
    for (const condition of ['idle', 'starved'] as const) {
      const starve = condition === 'starved' ? cores : 0;
      const hogs = startHogs(starve);
      try {
        if (starve) await new Promise((r) => setTimeout(r, 500));
        bare[condition].push(await bareRate());
      } finally {
        await stopHogs(hogs);
      }
      runs[condition].a.push(await burstOn(startSmbdListener, starve));
      runs[condition].c.push(await burstOn(() => startMccdSmbd(POOL_SIZE), starve));
    }
  }
  const summary = (rs: LoadReport[]): B6Burst => ({
    seconds: median(rs.map((r) => r.seconds)),
    ok: median(rs.map((r) => r.ok)),
    offered: BURST,
    errors: median(rs.map((r) => r.errors)),
    okPerSec: median(rs.map((r) => r.ok / r.seconds)),
  });
  const lines = [
    '| machine | server | completed (median) | completed / s | p50 ms | p99 ms | errors (median) | completed per run |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const names = { a: "(a) smbd's own listener", c: `(c) mccd → smbd pool of ${POOL_SIZE}` };
  for (const condition of ['idle', 'starved'] as const)
    for (const id of ['a', 'c'] as const) {
      const rs = runs[condition][id];
      const s = summary(rs);
      lines.push(
        `| ${condition} | ${names[id]} | ${fmt(s.ok, 0)} of ${fmt(BURST, 0)} | ${fmt(s.okPerSec)} | ${fmt(median(rs.map((r) => r.p50Ms)))} | ${fmt(median(rs.map((r) => r.p99Ms)))} | ${fmt(s.errors, 0)} | ${rs.map((r) => r.ok).join(', ')} |`,
      );
    }
  lines.push(
    '',
    ...b6StarvedProse({
      hogs: cores,
      cores,
      bare: { idle: median(bare.idle), starved: median(bare.starved) },
      idle: { a: summary(runs.idle.a), c: summary(runs.idle.c) },
      starved: { a: summary(runs.starved.a), c: summary(runs.starved.c) },
    }),
    `Each burst: ${fmt(BURST, 0)} connections at once (connect → NEGOTIATE response, 10 s timeout each) to a server started just before, with a fresh random ClientGUID each. "starved": one \`sh\` busy loop pinned to each of the ${cores} core(s) with \`taskset -c N\` while the burst runs; the bare Node server's rate (16 concurrent, 2 s) measured in the same condition says how much CPU was left.`,
  );
  return {
    title: `B6s B6's reconnect burst on an idle and on a CPU-starved machine (median of ${repeat})`,
    lines,
  };
}
