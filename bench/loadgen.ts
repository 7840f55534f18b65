import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { buildNegotiateRequest, FrameReader, frame, negotiateResponsePull } from '../wire/index.js';

/**
 * Connect → NEGOTIATE → response → close, as fast as allowed. Used by the benchmarks and the endurance
 * tests, in a process of its own (bench/loadgen-child.ts) so it never shares an event loop with a server.
 */
export interface LoadReport {
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  seconds: number;
  connPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the load generator itself used (set by loadgen-child). */
  clientCpuMs?: number;
  /** Open loop only: the rate asked for, and how many connections the generator managed to start. */
  offeredPerSec?: number;
  started?: number;
}

/**
 * Whether a frame is what a load generator may count as served: a NEGOTIATE response that parses, with
 * STATUS_SUCCESS. Any other frame (an error response, garbage, a different command) is an error whose kind
 * names it, so a server that answers quickly with failures never reads as fast.
 */
export function judgeNegotiateFrame(bytes: Uint8Array): { ok: true } | { ok: false; error: string } {
  const parsed = negotiateResponsePull(bytes);
  if (!parsed.ok) return { ok: false, error: `bad-response:${parsed.error.code}` };
  const status = parsed.value.header.status;
  if (status !== 0) return { ok: false, error: `status-0x${status.toString(16).padStart(8, '0')}` };
  return { ok: true };
}

export function negotiateOnce(host: string, port: number, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect(port, host);
    const reader = new FrameReader();
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.once('connect', () => s.write(frame(buildNegotiateRequest({ clientGuid: randomUUID() }))));
    s.on('data', (d: Buffer) => {
      const first = reader.push(d).frames[0];
      if (first === undefined) return;
      clearTimeout(timer);
      const ms = performance.now() - t0;
      s.destroy();
      const verdict = judgeNegotiateFrame(first);
      if (verdict.ok) resolve(ms);
      else reject(new Error(verdict.error));
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(e.code ?? 'error'));
    });
    s.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed'));
    });
  });
}

function report(latencies: number[], errors: string[], seconds: number): LoadReport {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length
      ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
      : Number.NaN;
  const errorKinds: Record<string, number> = {};
  for (const e of errors) errorKinds[e] = (errorKinds[e] ?? 0) + 1;
  return {
    ok: sorted.length,
    errors: errors.length,
    errorKinds,
    seconds,
    connPerSec: sorted.length / seconds,
    p50Ms: at(50),
    p99Ms: at(99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

/** `concurrency` loops back to back for `durationMs`: the most a server sustains. */
export async function closedLoop(o: {
  host: string;
  port: number;
  concurrency: number;
  durationMs: number;
}): Promise<LoadReport> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const t0 = performance.now();
  const end = t0 + o.durationMs;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < end) {
        try {
          latencies.push(await negotiateOnce(o.host, o.port));
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    }),
  );
  return report(latencies, errors, (performance.now() - t0) / 1000);
}

/** New connections at a fixed offered rate (paced on a 1 ms tick), latency measured per connection. */
export async function openLoop(o: {
  host: string;
  port: number;
  rate: number;
  durationMs: number;
  maxInFlight?: number;
}): Promise<LoadReport> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let started = 0;
  while (performance.now() - t0 < o.durationMs) {
    const due = Math.floor(((performance.now() - t0) / 1000) * o.rate);
    while (started < due && inFlight.size < (o.maxInFlight ?? 4096)) {
      started++;
      const p: Promise<void> = negotiateOnce(o.host, o.port).then(
        (ms) => {
          latencies.push(ms);
        },
        (e: Error) => {
          errors.push(e.message);
        },
      );
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  // The achieved rate (connPerSec) counts the drain after the last start, so a server that falls behind
  // the offered rate shows it; `started` shows a generator that could not keep the pace itself.
  return { ...report(latencies, errors, (performance.now() - t0) / 1000), offeredPerSec: o.rate, started };
}

/** `count` connections all at once, as clients reconnecting after a failover: the latency of each. */
export async function burst(o: { host: string; port: number; count: number }): Promise<LoadReport> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.count }, () =>
      negotiateOnce(o.host, o.port, 10_000).then(
        (ms) => {
          latencies.push(ms);
        },
        (e: Error) => {
          errors.push(e.message);
        },
      ),
    ),
  );
  return report(latencies, errors, (performance.now() - t0) / 1000);
}
