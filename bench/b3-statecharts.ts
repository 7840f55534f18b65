import { ClientRegistry } from '../statecharts/registry.js';

/**
 * B3, one repetition: N clients × 4 channels in the client registry, against a baseline of plain objects
 * in a Map doing the same bookkeeping. Prints one JSON line.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function guid(i: number): string {
  const h = i.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${h}`;
}

function channel(i: number, k: number) {
  return {
    tuple: {
      localAddress: k === 0 ? '10.213.0.101' : `10.213.0.${k}`,
      localPort: 445,
      remoteAddress: '10.1.0.1',
      remotePort: 1024 + ((i * 4 + k) % 60000),
    },
    transport: 'tcp' as const,
    onPublicIp: k === 0,
    createdAt: 0,
  };
}

const n = Number(process.argv[2] ?? 100_000);
const mode = process.argv[3] ?? 'registry';

if (mode === 'baseline') {
  const base = heap();
  const map = new Map<
    string,
    { state: string; channels: ({ id: number; state: string } & ReturnType<typeof channel>)[]; next: number }
  >();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const c = {
      state: 'negotiating',
      channels: [] as ({ id: number; state: string } & ReturnType<typeof channel>)[],
      next: 1,
    };
    map.set(guid(i), c);
    for (let k = 0; k < 4; k++) c.channels.push({ ...channel(i, k), id: c.next++, state: 'accepted' });
  }
  const createMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    const c = map.get(guid(i))!;
    for (const ch of c.channels) ch.state = ch.state === 'accepted' ? 'handedOff' : 'active';
  }
  const eventsMs = performance.now() - t1;
  const bytesPerClient = (heap() - base) / n;
  const t2 = performance.now();
  const restored = new Map(Object.entries(JSON.parse(JSON.stringify(Object.fromEntries(map)))));
  const snapshotRestoreMs = performance.now() - t2;
  console.log(
    JSON.stringify({
      mode,
      n,
      createMs,
      eventsPerSec: (n * 4) / (eventsMs / 1000),
      bytesPerClient,
      snapshotRestoreMs,
      check: restored.size,
    }),
  );
} else {
  const base = heap();
  const reg = new ClientRegistry();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) for (let k = 0; k < 4; k++) reg.acceptChannel(guid(i), channel(i, k));
  const createMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    const g = guid(i);
    for (let id = 1; id <= 4; id++)
      reg.send(g, { type: 'CHANNEL_EVENT', channelId: id, event: 'HANDED_OFF' });
  }
  const eventsMs = performance.now() - t1;
  const bytesPerClient = (heap() - base) / n;
  const t2 = performance.now();
  const snap = reg.snapshot();
  const snapshotMs = performance.now() - t2;
  const t3 = performance.now();
  const restored = new ClientRegistry();
  restored.restore(snap);
  const restoreMs = performance.now() - t3;
  // Restore is lazy; waking every client (one event each) is the deferred part of the cost.
  const t4 = performance.now();
  for (let i = 0; i < n; i++) restored.send(guid(i), { type: 'NEGOTIATED', dialect: 0x0311 });
  const wakeAllMs = performance.now() - t4;
  console.log(
    JSON.stringify({
      mode,
      n,
      createMs,
      eventsPerSec: (n * 4) / (eventsMs / 1000),
      bytesPerClient,
      snapshotMs,
      restoreMs,
      snapshotRestoreMs: snapshotMs + restoreMs,
      wakeAllMs,
      check: restored.size,
    }),
  );
}
