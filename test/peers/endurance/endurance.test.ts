import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LoadReport } from '../../../bench/loadgen.js';
import { negotiateOnce } from '../../../bench/loadgen.js';
import { type Running, startMccd } from '../../../bench/procs.js';
import { apiGet } from '../../../cli/api-client.js';
import type { MemoryReport } from '../../../coordinator/memory.js';
import { buildNegotiateRequest, frame } from '../../../wire/index.js';
import { waitFor } from '../../harness/netns.js';
import { envAtLeast } from '../../helpers/env.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer } from '../../helpers/skip.js';

/**
 * Endurance, short profile (CI): churn through mccd with RSS and fds watched, slowloris, and a barrage of
 * bad input. MCC_ENDURANCE_SECONDS=600 runs the long churn profile: 10 minutes at 1,000 connections/s,
 * the RSS slope after a 60 s warm-up asserted under 0.05 MiB/s.
 */
// At least 10 s: the warm-up is left out of the slope, and the rest needs a dozen samples.
const CHURN_SECONDS = envAtLeast('MCC_ENDURANCE_SECONDS', 15, 10);
/**
 * The warm-up left out of the RSS slope: V8 grows its heap (young generation to its maximum, old space
 * to what the live set and promotion rate need) and JIT-compiles the hot paths in the first minute of
 * churn (docs/memory.md). Short runs leave out the first 4 s only.
 */
const WARM_UP_SECONDS = CHURN_SECONDS >= 120 ? 60 : 4;
/**
 * The leak check: heap that survives a full collection, before and after the churn, per connection
 * served. A leak of 1 KiB per connection leaves ~15 MiB after 15 s at 1,000/s and fails this bound,
 * where RSS cannot tell it from V8 growing its heap. Measured: 263 B/connection over the first 15,000
 * (JIT warm-up included), then 90-160 B/connection per further 8,000, which does not grow with the run
 * (docs/memory.md: code and type feedback, not per-connection state).
 */
const MAX_RETAINED_BYTES_PER_CONNECTION = 512;
/** Long runs (MCC_ENDURANCE_SECONDS >= 120) reach V8's steady state: RSS must then be flat. */
const STEADY_STATE_SECONDS = 120;
const MAX_STEADY_RSS_SLOPE_KIB_PER_SEC = 0.05 * 1024;
/**
 * The plateau's bound, from its parts as measured (docs/memory.md): outside the V8 heap ~52 MiB (node,
 * its libraries, thread stacks and malloc arenas; 44 idle), the young generation at its maximum (8 MiB
 * with the unit's --max-semi-space-size=4), old space ~20 MiB (12 live after a full collection), code
 * 2 MiB, external buffers 2.5 MiB: 85 MiB measured, bounded at 1.5 times that.
 */
const MAX_RSS_MIB = 128;
/** A churn the machine sustains answers within this at the 99th percentile (it is ~20 ms on an idle one). */
const KEPT_UP_P99_MS = 250;
/** As deploy/systemd/mccd.service runs mccd (test/unit/deploy checks the unit still says so). */
const MCCD_NODE_FLAGS = ['--max-semi-space-size=4'];
const CHURN_RATE = 1000;

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}
function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
/** Least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

describePeer(
  'endurance (short profile): churn, slowloris, bad input through mccd + worker processes',
  undefined,
  () => {
    let m: Running & { api: string };
    let mccdPid: number;

    beforeAll(async () => {
      m = await startMccd({
        workers: 1,
        negotiateTimeoutMs: 1000,
        exposeGc: true,
        nodeFlags: MCCD_NODE_FLAGS,
      });
      mccdPid = m.pids[0]!;
    }, 30_000);
    afterAll(async () => {
      await m?.stop();
    });

    /** heapUsed right after a full collection in mccd (started with --expose-gc). */
    const heapAfterCollection = async () => {
      const memory = await apiGet<MemoryReport>({ socketPath: m.api }, '/v1/memory?gc=1');
      expect(memory.collected).toBe(true);
      return memory.heapUsed;
    };

    const rejected = async () => {
      const text = await new Promise<string>((resolve) => {
        import('node:http').then(({ get }) =>
          get({ socketPath: m.api, path: '/metrics' }, (res) => {
            let t = '';
            res.on('data', (d) => {
              t += d;
            });
            res.on('end', () => resolve(t));
          }),
        );
      });
      const out: Record<string, number> = {};
      for (const match of text.matchAll(/mcc_rejected_connections_total\{reason="([^"]+)"\} (\d+)/g))
        out[match[1]!] = Number(match[2]);
      return out;
    };

    it(
      `${CHURN_SECONDS} s of churn at ${CHURN_RATE} connections/s: zero errors, fds flat, nothing retained per connection`,
      async () => {
        for (let i = 0; i < 200; i++) await negotiateOnce('127.0.0.1', m.port); // warm-up
        const heapBefore = await heapAfterCollection();
        const child = spawn(process.execPath, [
          join(projectRoot, 'dist/bench/loadgen-child.js'),
          JSON.stringify({
            host: '127.0.0.1',
            port: m.port,
            mode: 'open',
            rate: CHURN_RATE,
            durationMs: CHURN_SECONDS * 1000,
          }),
        ]);
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        const t: number[] = [];
        const rss: number[] = [];
        const fds: number[] = [];
        const sampler = setInterval(() => {
          t.push(Date.now() / 1000);
          rss.push(rssKb(mccdPid));
          fds.push(fdCount(mccdPid));
        }, 500);
        // Clients mccd holds at once: a backlog (a starved worker reporting late) shows here, not a leak.
        let peakClients = 0;
        const clientSampler = setInterval(() => {
          apiGet<{ clients: number }>({ socketPath: m.api }, '/v1/status')
            .then((s) => {
              peakClients = Math.max(peakClients, s.clients);
            })
            .catch(() => undefined);
        }, 2000);
        await new Promise((r) => child.once('exit', r));
        clearInterval(sampler);
        clearInterval(clientSampler);
        const report = JSON.parse(out) as LoadReport;
        await waitFor('every churn client gone from mccd', 30_000, async () => {
          const status = await apiGet<{ clients: number }>({ socketPath: m.api }, '/v1/status');
          return status.clients === 0 ? true : undefined;
        });
        const heapAfter = await heapAfterCollection();
        const retainedPerConnection = (heapAfter - heapBefore) / Math.max(1, report.ok);
        const fdsAfter = fdCount(mccdPid);
        const rssSlope = slope(t, rss);
        const settled = t.map((_, i) => i).filter((i) => t[i]! - t[0]! >= WARM_UP_SECONDS);
        const settledSlopeKbPerSec = slope(
          settled.map((i) => t[i]!),
          settled.map((i) => rss[i]!),
        );
        process.stdout.write(
          `churn: ${report.ok} connections (${report.connPerSec.toFixed(0)}/s), errors ${report.errors}, p99 ${report.p99Ms.toFixed(1)} ms; mccd fds ${fds[0]} → ${fdsAfter} (slope ${slope(t, fds).toFixed(2)}/s); heap after full GC ${(heapBefore / 1048576).toFixed(1)} → ${(heapAfter / 1048576).toFixed(1)} MiB (${retainedPerConnection.toFixed(1)} B/connection retained); RSS ${(rss[0]! / 1024).toFixed(1)} → ${(rss.at(-1)! / 1024).toFixed(1)} MiB, max ${(Math.max(...rss) / 1024).toFixed(1)} of ${MAX_RSS_MIB} with at most ${peakClients} clients held at once (slope ${(rssSlope / 1024).toFixed(2)} MiB/s; after ${WARM_UP_SECONDS} s warm-up ${(settledSlopeKbPerSec / 1024).toFixed(4)} MiB/s over ${settled.length} samples${CHURN_SECONDS >= STEADY_STATE_SECONDS ? `, bound ${MAX_STEADY_RSS_SLOPE_KIB_PER_SEC / 1024}` : ', not asserted under 120 s'})\n`,
        );
        expect(report.errors, JSON.stringify(report.errorKinds)).toBe(0);
        expect(report.ok).toBeGreaterThanOrEqual(CHURN_RATE * CHURN_SECONDS * 0.95);
        // Every connection's fd was handed off and closed: mccd ends where it started.
        expect(fdsAfter).toBeLessThanOrEqual(fds[0]! + 2);
        // The leak check proper: nothing a connection allocated outlives it.
        expect(retainedPerConnection).toBeLessThan(MAX_RETAINED_BYTES_PER_CONNECTION);
        // The plateau, warm-up included: V8's young generation and old space grow to what churn needs.
        // Judged when the machine kept up with the churn: on a machine busy with other work the worker
        // reports late, connections queue (p99 past a second) and RSS measures that backlog and V8's
        // delayed major collections instead (docs/memory.md); the leak check above holds either way.
        const keptUp = report.p99Ms < KEPT_UP_P99_MS;
        if (keptUp) expect(Math.max(...rss) / 1024).toBeLessThan(MAX_RSS_MIB);
        else
          process.stdout.write(
            `churn: the machine did not keep up (p99 ${report.p99Ms.toFixed(0)} ms, ${peakClients} clients held at once): RSS bound not judged\n`,
          );
        expect(settled.length).toBeGreaterThanOrEqual(10);
        if (CHURN_SECONDS >= STEADY_STATE_SECONDS)
          expect(settledSlopeKbPerSec).toBeLessThan(MAX_STEADY_RSS_SLOPE_KIB_PER_SEC);
      },
      (CHURN_SECONDS + 60) * 1000,
    );

    it('slowloris: 1,000 silent connections are closed at the deadline while real clients are served', async () => {
      const before = await rejected();
      const silent = await Promise.all(
        Array.from(
          { length: 1000 },
          (_, i) =>
            new Promise<{ closedAt: Promise<number> }>((resolve, reject) => {
              // From two addresses of their own, under the per-address bound on pending connections
              // (negotiate.maxPendingPerAddress, 1,000): the real clients come from 127.0.0.1.
              const s = connect({ port: m.port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 2)}` });
              const closedAt = new Promise<number>((r) => s.once('close', () => r(Date.now())));
              s.on('error', () => undefined);
              s.once('connect', () => resolve({ closedAt }));
              s.once('error', reject);
            }),
        ),
      );
      const t0 = Date.now();
      const served: number[] = [];
      while (Date.now() - t0 < 1500) served.push(await negotiateOnce('127.0.0.1', m.port));
      const closed = await Promise.all(silent.map((s) => s.closedAt));
      const latest = Math.max(...closed) - t0;
      process.stdout.write(
        `slowloris: 1000 silent connections closed within ${latest} ms (deadline 1000 ms); ${served.length} real clients served meanwhile\n`,
      );
      expect(served.length).toBeGreaterThan(50);
      expect(latest).toBeLessThan(5000);
      // Each is closed at the deadline, or earlier as the oldest pending connection from 127.0.0.1 when a
      // real client from the same address arrives with 1,000 already waiting (negotiate.maxPendingPerAddress).
      const after = await rejected();
      const closedSilent = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      expect(closedSilent('timeout') + closedSilent('shed')).toBe(1000);
    }, 30_000);

    it('bad input: oversized, SMB1, random and truncated connections are each closed and counted; mccd keeps serving', async () => {
      const before = await rejected();
      const send = (bytes: Uint8Array, end: boolean) =>
        new Promise<void>((resolve) => {
          const s = connect(m.port, '127.0.0.1');
          s.on('error', () => undefined);
          s.once('connect', () => {
            s.write(bytes);
            if (end) s.end();
          });
          s.once('close', () => resolve());
        });
      const N = 50;
      const smb1 = Uint8Array.from([0, 0, 0, 0x23, 0xff, 0x53, 0x4d, 0x42, 0x72, ...new Array(31).fill(0)]);
      const oversized = Uint8Array.of(0, 0x7f, 0xff, 0xff, 0xfe, 0x53, 0x4d, 0x42);
      const truncated = frame(
        buildNegotiateRequest({ clientGuid: '2acaa38d-f1d3-40c2-94e8-17bc98f2b571' }),
      ).subarray(0, 50);
      await Promise.all([
        ...Array.from({ length: N }, () => send(smb1, false)),
        ...Array.from({ length: N }, () => send(oversized, false)),
        ...Array.from({ length: N }, (_, i) =>
          send(
            Uint8Array.from({ length: 40 }, (__, j) => ((i * 7 + j * 13 + 1) & 0xff) | 0x80),
            false,
          ),
        ),
        ...Array.from({ length: N }, () => send(truncated, true)),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      const after = await rejected();
      const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      expect(delta('smb1')).toBe(N);
      expect(delta('oversized')).toBe(N);
      expect(delta('not-smb2')).toBe(N);
      expect(delta('eof') + delta('truncated')).toBe(N);
      expect(await negotiateOnce('127.0.0.1', m.port)).toBeGreaterThan(0);
    }, 30_000);
  },
);
