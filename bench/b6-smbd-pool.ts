import { cpus } from 'node:os';
import { type B6Burst, type B6Cell, b6MccdCpuCell, b6Prose } from './b6-prose.js';
import type { LoadReport } from './loadgen.js';
import { loadInChild, type Running, startMccdSmbd, startSmbdListener } from './procs.js';
import { fmt, machineBusyMs, median, processCpuMs, type Section, USER_HZ } from './stats.js';

/**
 * B6: real smbd behind mccd. Connect → NEGOTIATE response with a random ClientGUID per connection, closed
 * loops at 1, 16 and 64 concurrent clients, then a 2,000-connection reconnect burst, for (a) smbd's own
 * listener (fork per connection, listen backlog 50), (b) mccd spawning `smbd -i` per connection and (c)
 * mccd handing connections to the smbd pool (members forked from a zygote).
 */
const POOL_SIZE = 64;
const CONCURRENCY = [1, 16, 64];
const BURST = 2000;

type Start = () => Promise<Running>;
/** `mccd`: the server runs through mccd, whose pid is the first of its pids (bench/procs.ts startMccd). */
const servers: { id: string; name: string; start: Start; burst: boolean; mccd: boolean }[] = [
  {
    id: 'a',
    name: "(a) smbd's own listener (fork per connection)",
    start: startSmbdListener,
    burst: true,
    mccd: false,
  },
  // An exec per connection: a 2,000 burst would take ~40 s of CPU and mostly time out; its rate shows that.
  {
    id: 'b',
    name: '(b) mccd → `smbd -i` spawned per connection',
    start: () => startMccdSmbd(0),
    burst: false,
    mccd: true,
  },
  {
    id: 'c',
    name: `(c) mccd → smbd pool of ${POOL_SIZE}`,
    start: () => startMccdSmbd(POOL_SIZE),
    burst: true,
    mccd: true,
  },
];

interface Measured extends LoadReport {
  /** Machine CPU per completed connection, the load generator's own CPU taken out. */
  cpuMsPerConn: number;
  /** mccd's own process CPU (utime + stime) per completed connection; NaN without mccd. */
  mccdCpuMsPerConn: number;
}

const settle = () => new Promise((r) => setTimeout(r, 1500)); // the last smbd processes exit

/**
 * One load run, with the machine's CPU (up to the run's end) and, through mccd, mccd's own CPU: that
 * one is read after the settle, so the closes of the run's last connections are in it (a connection's
 * cost includes its teardown), at the price of 1.5 s of an idle mccd's timers.
 */
async function measure(args: Record<string, unknown>, mccdPid?: number): Promise<Measured> {
  const before = machineBusyMs();
  const mccdBefore = mccdPid === undefined ? Number.NaN : processCpuMs(mccdPid);
  const r = loadInChild(args);
  const busy = machineBusyMs() - before - (r.clientCpuMs ?? 0);
  await settle();
  const mccdMs = mccdPid === undefined ? Number.NaN : processCpuMs(mccdPid) - mccdBefore;
  return {
    ...r,
    cpuMsPerConn: r.ok ? Math.max(0, busy) / r.ok : Number.NaN,
    mccdCpuMsPerConn: r.ok ? mccdMs / r.ok : Number.NaN,
  };
}

export async function b6(repeat: number, durationMs = 3000): Promise<Section> {
  const closed: Record<string, Record<number, Measured[]>> = {};
  const bursts: Record<string, Measured[]> = {};
  for (let i = 0; i < repeat; i++) {
    for (const s of servers) {
      const server = await s.start();
      const mccdPid = s.mccd ? server.pids[0] : undefined;
      try {
        loadInChild({ port: server.port, mode: 'closed', concurrency: 4, durationMs: 300 }); // warm-up
        closed[s.id] ??= {};
        const row = closed[s.id]!;
        for (const c of CONCURRENCY) {
          row[c] = [
            ...(row[c] ?? []),
            await measure({ port: server.port, mode: 'closed', concurrency: c, durationMs }, mccdPid),
          ];
        }
      } finally {
        await server.stop();
      }
      await settle();
      if (!s.burst) continue;
      const fresh = await s.start(); // a storm hits a node that was idle
      try {
        bursts[s.id] = [
          ...(bursts[s.id] ?? []),
          await measure(
            { port: fresh.port, mode: 'burst', count: BURST },
            s.mccd ? fresh.pids[0] : undefined,
          ),
        ];
      } finally {
        await fresh.stop();
      }
      await settle();
    }
  }
  const med = (rs: Measured[], k: keyof Measured) => median(rs.map((r) => r[k] as number));
  const errors = (rs: Measured[]) => rs.reduce((a, r) => a + r.errors, 0);
  const lines = [
    '| server | concurrency | conn/s | × (a) | p50 ms | p99 ms | CPU ms / connection (machine) | mccd CPU µs / connection (its process) | errors (sum of runs) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of servers) {
    for (const c of CONCURRENCY) {
      const rs = closed[s.id]![c]!;
      const base = med(closed.a![c]!, 'connPerSec');
      lines.push(
        `| ${s.name} | ${c} | ${fmt(med(rs, 'connPerSec'))} | ${fmt(med(rs, 'connPerSec') / base)}× | ${fmt(med(rs, 'p50Ms'))} | ${fmt(med(rs, 'p99Ms'))} | ${fmt(med(rs, 'cpuMsPerConn'))} | ${b6MccdCpuCell(med(rs, 'mccdCpuMsPerConn'))} | ${errors(rs)} |`,
      );
    }
  }
  lines.push(
    '',
    `**Reconnect burst**: ${fmt(BURST, 0)} connections at once to an idle server (connect → NEGOTIATE response, 10 s timeout each):`,
    '',
    '| server | all done in s | completed | completed / s | p50 ms | p99 ms | max ms | CPU ms / connection (machine) | mccd CPU µs / connection (its process) | errors (sum of runs) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const s of servers.filter((x) => x.burst)) {
    const rs = bursts[s.id]!;
    lines.push(
      `| ${s.name} | ${fmt(med(rs, 'seconds'))} | ${fmt(med(rs, 'ok'), 0)} of ${fmt(BURST, 0)} | ${fmt(median(rs.map((r) => r.ok / r.seconds)))} | ${fmt(med(rs, 'p50Ms'))} | ${fmt(med(rs, 'p99Ms'))} | ${fmt(med(rs, 'maxMs'))} | ${fmt(med(rs, 'cpuMsPerConn'))} | ${b6MccdCpuCell(med(rs, 'mccdCpuMsPerConn'))} | ${errors(rs)} |`,
    );
  }
  const cell = (id: string): B6Cell => {
    const rs = closed[id]![64]!;
    return {
      connPerSec: med(rs, 'connPerSec'),
      p99Ms: med(rs, 'p99Ms'),
      cpuMsPerConn: med(rs, 'cpuMsPerConn'),
      mccdCpuMsPerConn: med(rs, 'mccdCpuMsPerConn'),
      ok: rs.reduce((sum, r) => sum + r.ok, 0),
      errors: errors(rs),
    };
  };
  const burstOf = (id: string): B6Burst => {
    const rs = bursts[id]!;
    return {
      seconds: med(rs, 'seconds'),
      ok: med(rs, 'ok'),
      offered: BURST,
      errors: errors(rs),
      okPerSec: median(rs.map((r) => r.ok / r.seconds)),
    };
  };
  lines.push(
    '',
    ...b6Prose({
      cores: cpus().length,
      at64: { a: cell('a'), b: cell('b'), c: cell('c') },
      burst: { a: burstOf('a'), c: burstOf('c') },
      pool: CONCURRENCY.map((c) => {
        const rs = closed.c![c]!;
        return {
          concurrency: c,
          mccdCpuMsPerConn: med(rs, 'mccdCpuMsPerConn'),
          fewestOk: Math.min(...rs.map((r) => r.ok)),
          errors: errors(rs),
        };
      }),
      tickMs: 1000 / USER_HZ,
    }),
    `Closed loops run ${durationMs / 1000} s per cell after a warm-up; each connection carries a fresh random ClientGUID, so none is passed to another smbd. CPU per connection is what the whole machine spent busy (/proc/stat) minus the load generator's own CPU, divided by completed connections: it includes mccd, every smbd process and any background noise. mccd's own CPU is its process's utime + stime (/proc/PID/stat, all its threads, not its children: an smbd it spawns or a pool member is not in it) over the cell and the 1.5 s after it (the last connections' closes), divided by completed connections. Load generator, mccd and smbd share the same ${cpus().length} core(s).`,
  );
  return {
    title: `B6 smbd backend: smbd's listener vs mccd + inetd spawn vs mccd + smbd pool (median of ${repeat})`,
    lines,
  };
}
