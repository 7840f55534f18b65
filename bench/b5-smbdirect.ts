import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeqpacketServer } from '../native/index.js';
import { CarrierChannel, SmbdTestClient, SmbdTestServer, StreamChannel } from '../smbdirect/index.js';
import { runLoad } from '../smbdirect/load.js';

/**
 * B5, one repetition for one transport: server and client in this process, so CPU per byte counts both
 * sides of every transfer. Prints one JSON line with a result per (op, size).
 */
const transport = (process.argv[2] ?? 'inline') as 'inline' | 'shm';
const durationMs = Number(process.argv[3] ?? 1500);
const dir = mkdtempSync(join(tmpdir(), 'mcc-b5-'));
const server = new SmbdTestServer();
const tcp = createServer((s) => server.serve(new StreamChannel(s)));
await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
const unix = new SeqpacketServer(join(dir, 's.sock'), { maxBytes: 2 * 1024 * 1024, maxFds: 4 });
unix.on('connection', (c) => server.serve(new CarrierChannel(c)));
const client = await SmbdTestClient.connect({
  transport,
  port: (tcp.address() as { port: number }).port,
  path: join(dir, 's.sock'),
});
const results = [];
for (const size of [4096, 65536, 1048576]) {
  for (const op of ['read', 'write'] as const) {
    await runLoad(client, { op, size, count: 50, durationMs: 200 }); // warm-up
    results.push(await runLoad(client, { op, size, count: 1_000_000, durationMs }));
  }
}
client.close();
tcp.close();
unix.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ transport, results }));
process.exit(0);
