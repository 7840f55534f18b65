import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { negotiateAnswer } from '../coordinator/worker/reference-worker.js';
import { FrameReader, frame, negotiateRequestPull } from '../wire/index.js';

/**
 * B2's floor: the same clients served by one plain server with no mccd in the loop. It answers each
 * NEGOTIATE itself and keeps its sockets by ClientGUID; on `release ADDRESS` it closes every socket of
 * every client with a channel on that address, as the workers would, and prints `{"released":n}`. What
 * remains of B2's time beyond this is mccd's.
 */
const { port, addresses } = JSON.parse(process.argv[2]!) as { port: number; addresses: string[] };
const guid = randomUUID();
const start = Date.now();
const byClient = new Map<string, { socket: Socket; local: string }[]>();

const serve = (s: Socket) => {
  const reader = new FrameReader();
  s.on('data', (d: Buffer) => {
    for (const f of reader.push(d).frames) {
      const req = negotiateRequestPull(f);
      const a = negotiateAnswer(f, guid, start);
      if (!req.ok || !a) continue;
      const list = byClient.get(req.value.clientGuid) ?? [];
      list.push({ socket: s, local: s.localAddress ?? '' });
      byClient.set(req.value.clientGuid, list);
      s.write(frame(a.bytes));
    }
  });
  s.on('error', () => undefined);
};

let listening = 0;
for (const host of addresses) {
  createServer(serve).listen({ port, host, backlog: 4096 }, () => {
    if (++listening === addresses.length) console.log(JSON.stringify({ listening }));
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^release (\S+)$/.exec(line.trim());
  if (!m) return;
  let released = 0;
  for (const channels of byClient.values()) {
    if (!channels.some((c) => c.local === m[1])) continue;
    for (const c of channels) c.socket.destroy();
    released += channels.length;
  }
  console.log(JSON.stringify({ released }));
});
process.on('SIGTERM', () => process.exit(0));
