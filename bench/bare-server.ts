import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { negotiateAnswer } from '../coordinator/worker/reference-worker.js';
import { FrameReader, frame } from '../wire/index.js';

/**
 * B1's baseline: a bare Node server on the same port that accepts, reads the NEGOTIATE and answers it
 * itself (the same answer the reference worker gives), with no peek, routing or handoff.
 */
const port = Number(process.argv[2] ?? 0);
const guid = randomUUID();
const start = Date.now();
const server = createServer((s) => {
  const reader = new FrameReader();
  s.on('data', (d: Buffer) => {
    for (const f of reader.push(d).frames) {
      const a = negotiateAnswer(f, guid, start);
      if (a) s.write(frame(a.bytes));
    }
  });
  s.on('error', () => undefined);
});
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () =>
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port })),
);
process.on('SIGTERM', () => process.exit(0));
