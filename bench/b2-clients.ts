import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { buildNegotiateRequest, FrameReader, frame } from '../wire/index.js';

/**
 * B2 client process: opens `count` clients × 4 channels through mccd (channel 0 of every 4th client on
 * the address that will be released), prints {"ready":n}, then on a `report` line prints when each socket
 * closed. Several of these run side by side to stay under the per-process fd limit.
 */
const { port, first, count, released, fixed, source } = JSON.parse(process.argv[2]!) as {
  port: number;
  first: number;
  count: number;
  released: string;
  fixed: string;
  /** Own loopback source address: one address has ~28k ephemeral ports per destination. */
  source: string;
};

interface Channel {
  affected: boolean;
  opened: boolean;
  closedAt?: number;
}
const channels: Channel[] = [];
const sockets: Socket[] = [];

function open(host: string, guid: string, affected: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ch: Channel = { affected, opened: false };
    const s = connect({ port, host, localAddress: source });
    const reader = new FrameReader();
    s.once('connect', () => s.write(frame(buildNegotiateRequest({ clientGuid: guid }))));
    s.on('data', (d: Buffer) => {
      if (!ch.opened && reader.push(d).frames.length) {
        ch.opened = true;
        resolve();
      }
    });
    s.on('error', () => undefined);
    s.once('close', () => {
      ch.closedAt = Date.now();
      if (!ch.opened) reject(new Error('closed before NEGOTIATE response'));
    });
    channels.push(ch);
    sockets.push(s);
  });
}

const jobs: (() => Promise<void>)[] = [];
for (let i = first; i < first + count; i++) {
  const guid = randomUUID();
  const affected = i % 4 === 0;
  for (let k = 0; k < 4; k++) jobs.push(() => open(affected && k === 0 ? released : fixed, guid, affected));
}
let next = 0;
let failed = 0;
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await job().catch(() => {
        failed++;
      });
    }
  }),
);
console.log(JSON.stringify({ ready: channels.length - failed, failed }));

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() !== 'report') return;
  const open = channels.filter((c) => c.opened);
  console.log(
    JSON.stringify({
      affected: open.filter((c) => c.affected).length,
      affectedClosed: open.filter((c) => c.affected && c.closedAt !== undefined).map((c) => c.closedAt!),
      unaffectedClosed: open.filter((c) => !c.affected && c.closedAt !== undefined).length,
    }),
  );
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(0), 100);
});
