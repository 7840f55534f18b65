import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateFile, writeStateFile } from '../coordinator/state-file.js';
import type { ClientRecord } from '../statecharts/persist.js';
import { ClientRegistry } from '../statecharts/registry.js';

/**
 * B7, one repetition: what a restart costs mccd at N clients × 2 channels. `mcc`: the state file as
 * mccd writes it (chunked, fsync, rename) with the longest stall of the event loop meanwhile, then read
 * back (owner/size checks, each client checked as the zod schema would) and restored into the registry. `baseline`: the same records
 * as one JSON.stringify + writeFileSync and readFileSync + JSON.parse, no checks: the least any
 * persistence costs. Prints one JSON line.
 */
const n = Number(process.argv[2] ?? 100_000);
const mode = process.argv[3] ?? 'mcc';

function guid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

const records: ClientRecord[] = [];
for (let i = 0; i < n; i++)
  records.push({
    clientGuid: guid(i),
    state: 'active',
    owner: { kind: 'worker', id: 'w1', pid: 4242 },
    dialect: 0x311,
    nextChannelId: 3,
    createdAt: 1_700_000_000_000 + i,
    channels: [1, 2].map((id) => ({
      id,
      state: 'active' as const,
      tuple: {
        localAddress: id === 1 ? '10.213.0.101' : '10.213.0.1',
        localPort: 445,
        remoteAddress: '10.1.0.1',
        remotePort: 1024 + ((i * 2 + id) % 60000),
      },
      interfaceName: 'eth0',
      transport: 'tcp' as const,
      onPublicIp: id === 1,
      createdAt: 1_700_000_000_000 + i,
    })),
  });

const dir = mkdtempSync(join(tmpdir(), 'mcc-b7-'));
const path = join(dir, 'state.json');
const state = {
  version: 1 as const,
  writtenAt: Date.now(),
  pid: process.pid,
  pnn: 0,
  backend: 'worker' as const,
  clients: records,
};
try {
  if (mode === 'baseline') {
    const t0 = performance.now();
    writeFileSync(path, JSON.stringify(state));
    const writeMs = performance.now() - t0;
    const t1 = performance.now();
    const back = JSON.parse(readFileSync(path, 'utf8')) as { clients: unknown[] };
    const readMs = performance.now() - t1;
    console.log(
      JSON.stringify({
        mode,
        n,
        writeMs,
        stallMs: writeMs,
        readMs,
        restoreMs: 0,
        bytes: 0,
        check: back.clients.length,
      }),
    );
  } else {
    let stallMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last);
      last = now;
    }, 1);
    const t0 = performance.now();
    const bytes = await writeStateFile(path, state, 1 << 30);
    const writeMs = performance.now() - t0;
    clearInterval(ticker);
    const t1 = performance.now();
    const read = readStateFile(path, 1 << 30);
    const readMs = performance.now() - t1;
    if (read.kind !== 'ok') throw new Error(`B7: state file not read back: ${read.kind}`);
    const t2 = performance.now();
    const registry = new ClientRegistry({ teardownTimeoutMs: 10_000 });
    registry.restoreRecords(read.state.clients);
    const restoreMs = performance.now() - t2;
    console.log(
      JSON.stringify({ mode, n, writeMs, stallMs, readMs, restoreMs, bytes, check: registry.size }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
