import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { negotiateOnce } from '../../../bench/loadgen.js';
import { pidAlive, type Running, startMccd } from '../../../bench/procs.js';
import { apiGet } from '../../../cli/api-client.js';
import { waitFor } from '../../harness/netns.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';

/**
 * An idle-connection flood against a real mccd under a small open-file limit (prlimit, as systemd's
 * LimitNOFILE): connections that never send a byte, re-opened as fast as mccd closes them, from several
 * source addresses; a worker connecting and operators' API connections held open meanwhile. mccd must stay
 * up, stay under its limit, and answer a real client's NEGOTIATE every time. Then the limit is cut under
 * what mccd planned for, so accept itself fails with EMFILE: mccd must back off, not die.
 */
const NOFILE = 2048;
const FLOOD_SECONDS = 20;
const SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function metric(api: string, pattern: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ socketPath: api, path: '/metrics' }, (res) => {
      let t = '';
      res.on('data', (d) => {
        t += d;
      });
      res.on('end', () => {
        let sum = 0;
        for (const m of t.matchAll(pattern)) sum += Number(m[1]);
        resolve(sum);
      });
    }).on('error', reject);
  });
}

function flood(port: number, sources: string[], perSource: number, seconds: number) {
  const child = spawn(process.execPath, [
    join(projectRoot, 'dist/bench/idle-flood-child.js'),
    JSON.stringify({ port, sources, perSource, durationMs: seconds * 1000 }),
  ]);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  return {
    child,
    done: new Promise<{ opened: number; closedByServer: number }>((resolve) =>
      child.once('exit', () => resolve(JSON.parse(out || '{"opened":0,"closedByServer":0}'))),
    ),
  };
}

/** NEGOTIATEs from 127.0.0.1, one every 100 ms until `until` resolves: latencies and failures. */
async function probe(port: number, until: Promise<unknown>) {
  let stop = false;
  until.then(() => {
    stop = true;
  });
  const ms: number[] = [];
  const failures: string[] = [];
  while (!stop) {
    try {
      ms.push(await negotiateOnce('127.0.0.1', port, 3000));
    } catch (error) {
      failures.push((error as Error).message);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  ms.sort((a, b) => a - b);
  return {
    ms,
    failures,
    p50: ms[ms.length >> 1] ?? Number.NaN,
    p99: ms[Math.floor(ms.length * 0.99)] ?? Number.NaN,
  };
}

function startWorker(socket: string, id: string): ChildProcess {
  return spawn(
    process.execPath,
    [join(projectRoot, 'dist/cli/mcc.js'), 'worker', '--worker-socket', socket, '--id', id],
    {
      stdio: 'ignore',
    },
  );
}

describePeer('idle flood against mccd under a small open-file limit', missingPrograms('prlimit'), () => {
  let m: Running & { api: string; dir: string };
  let pid: number;
  const extraWorkers: ChildProcess[] = [];

  beforeAll(async () => {
    m = await startMccd({
      workers: 1,
      nofile: NOFILE,
      // Without TCP_DEFER_ACCEPT: the kernel would hold these silent connections itself (bench B8), and
      // one byte each defeats it anyway; this test is about mccd's own bounds and accept's EMFILE path.
      extra: { api: { maxConnections: 16, headersTimeoutMs: 1000 }, negotiate: { deferAccept: false } },
    });
    pid = m.pids[0]!;
  }, 30_000);
  afterAll(async () => {
    for (const w of extraWorkers) w.kill('SIGKILL');
    await m?.stop();
  });

  const workers = async () =>
    (await apiGet<{ backend: { workers: unknown[] } }>({ socketPath: m.api }, '/v1/status')).backend.workers
      .length;

  it(`${FLOOD_SECONDS} s of ${SOURCES.length} × 750 idle connections re-opened as closed: up, under the limit, every NEGOTIATE answered`, async () => {
    const shedBefore = await metric(m.api, /mcc_rejected_connections_total\{reason="shed"\} (\d+)/g);
    const f = flood(m.port, SOURCES, 750, FLOOD_SECONDS);
    const fds: number[] = [];
    const sampler = setInterval(() => pidAlive(pid) && fds.push(fdCount(pid)), 250);
    const probing = probe(m.port, f.done);
    // A worker connecting in the middle of the flood (the carrier's accept used to die of EMFILE here).
    await new Promise((r) => setTimeout(r, 5000));
    extraWorkers.push(startWorker(join(m.dir, 'workers.sock'), 'during-flood'));
    // Operators' connections held open without a request: at most maxConnections stay, each for headersTimeout.
    const idleApi = Array.from({ length: 100 }, () => {
      const s = connect(m.api);
      s.on('error', () => undefined);
      return new Promise<void>((resolve) => s.once('close', () => resolve()));
    });
    const apiClosed = Promise.race([
      Promise.all(idleApi),
      new Promise((r) => setTimeout(() => r('open'), 8000)),
    ]);
    const [report, probed, apiOutcome] = await Promise.all([f.done, probing, apiClosed]);
    clearInterval(sampler);
    const shed = (await metric(m.api, /mcc_rejected_connections_total\{reason="shed"\} (\d+)/g)) - shedBefore;
    process.stdout.write(
      `idle flood: ${report.opened} connections opened in ${FLOOD_SECONDS} s (${Math.round(report.opened / FLOOD_SECONDS)}/s), ${shed} shed; mccd fds max ${Math.max(...fds)} of ${NOFILE}; ${probed.ms.length} NEGOTIATEs answered, ${probed.failures.length} failed (${[...new Set(probed.failures)].join(', ')}), p50 ${probed.p50.toFixed(1)} ms, p99 ${probed.p99.toFixed(1)} ms\n`,
    );
    expect(pidAlive(pid)).toBe(true);
    expect(Math.max(...fds)).toBeLessThan(NOFILE);
    expect(probed.failures).toEqual([]);
    expect(probed.ms.length).toBeGreaterThan(50);
    expect(shed).toBeGreaterThan(0);
    expect(apiOutcome).not.toBe('open');
    await waitFor('the worker started during the flood registered', 10_000, async () =>
      (await workers()) === 2 ? true : undefined,
    );
  }, 90_000);

  it('with the limit cut below its own budget, accept fails with EMFILE: mccd backs off, keeps going, and serves once the flood ends', async () => {
    const squeezed = fdCount(pid) + 40;
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${squeezed}:${NOFILE}`]);
    try {
      const f = flood(m.port, SOURCES.slice(0, 1), 400, 6);
      await new Promise((r) => setTimeout(r, 2000));
      // The worker socket's accept runs out of fds too while the flood holds them.
      extraWorkers.push(startWorker(join(m.dir, 'workers.sock'), 'squeezed'));
      await f.done;
      expect(pidAlive(pid)).toBe(true);
      const emfile = await metric(
        m.api,
        /mcc_accept_errors_total\{listener="(?:smb|worker)",code="EMFILE"\} (\d+)/g,
      );
      process.stdout.write(`squeezed to ${squeezed} fds: ${emfile} accepts failed with EMFILE; mccd up\n`);
      expect(emfile).toBeGreaterThan(0);
      expect(await negotiateOnce('127.0.0.1', m.port, 3000)).toBeGreaterThan(0);
      await waitFor('the worker started while squeezed registered once fds were free', 10_000, async () =>
        (await workers()) === 3 ? true : undefined,
      );
    } finally {
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${NOFILE}:${NOFILE}`]);
    }
  }, 60_000);
});
