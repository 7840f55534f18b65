import type { SmbdTestClient } from './client.js';
import { expectedLbuf } from './protocol.js';

/** Drives one client with fixed-size operations and measures throughput, latency and CPU. */
export interface LoadOptions {
  op: 'read' | 'write' | 'echo';
  size: number;
  /** Stop after this many operations or this many ms, whichever comes first. */
  count: number;
  durationMs: number;
  verify?: boolean;
  nonce?: bigint;
}

export interface LoadResult {
  op: string;
  transport: string;
  size: number;
  ops: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  latencyUs: { p50: number; p99: number };
  /** CPU time of this process (user + system) per byte moved, in nanoseconds. */
  cpuNsPerByte: number;
  verified: boolean | undefined;
  mismatches: number;
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0;
}

export async function runLoad(client: SmbdTestClient, o: LoadOptions): Promise<LoadResult> {
  const nonce = o.nonce ?? 0x6d63632d6c627566n;
  const lbufSize = Math.max(o.size * 4, 8);
  await client.setupLbuf(100, lbufSize, nonce);
  const region = await client.registerRegion(o.size);
  const desc = [{ iova: 0n, rkey: region.rkey, length: o.size }];
  const payload = new Uint8Array(o.size).fill(0x5a);
  const latencies: number[] = [];
  let mismatches = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ops = 0;
  while (ops < o.count && performance.now() - t0 < o.durationMs) {
    const offset = (ops * o.size) % (lbufSize - o.size + 1);
    const s = performance.now();
    if (o.op === 'read') {
      await client.read(100, offset, o.size, desc);
      if (o.verify && !Buffer.from(region.bytes).equals(Buffer.from(expectedLbuf(nonce, offset, o.size))))
        mismatches++;
    } else if (o.op === 'write') {
      region.bytes.set(payload);
      await client.write(100, offset, o.size, desc);
    } else {
      const back = await client.echo(payload, 1, o.size);
      if (o.verify && !Buffer.from(back).equals(Buffer.from(payload))) mismatches++;
    }
    latencies.push((performance.now() - s) * 1000);
    ops++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const bytes = ops * o.size;
  latencies.sort((a, b) => a - b);
  return {
    op: o.op,
    transport: client.transport,
    size: o.size,
    ops,
    bytes,
    seconds,
    mbPerSec: bytes / seconds / 1e6,
    latencyUs: { p50: pct(latencies, 50), p99: pct(latencies, 99) },
    cpuNsPerByte: ((cpu.user + cpu.system) * 1000) / Math.max(1, bytes),
    verified: o.verify ? mismatches === 0 : undefined,
    mismatches,
  };
}
