import { once } from 'node:events';
import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Acceptor, type AcceptReport, closeFd, listenerInfo, listenTcp } from '../../native/index.js';
import { RUNS } from './arbitraries.js';

/**
 * The native acceptor (native/src/acceptor.cc) against reference models written here in TypeScript:
 * when a first frame can be judged, and which pending connection the bounds shed. Real loopback
 * connections, so far fewer runs than the pure properties.
 */
const MAX_BYTES = 256;

/** Whether the first frame can be judged from `b` (the front door's rule before the acceptor moved to C). */
function judgeable(b: Buffer, max: number): boolean {
  if (b.length >= max) return true;
  if (b.length < 8) return false;
  if (b[0] !== 0) return true;
  const length = b.readUIntBE(1, 3);
  return length + 4 > max || b.length >= length + 4;
}

async function dial(port: number, from = '127.0.0.1'): Promise<net.Socket> {
  const c = net.connect({ port, host: '127.0.0.1', localAddress: from });
  c.on('error', () => undefined);
  await once(c, 'connect');
  return c;
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(done()).toBe(true);
}

describe('native acceptor: the first frame', () => {
  const reports: AcceptReport[] = [];
  let acceptor: Acceptor;
  let fd: number;
  let port: number;
  beforeAll(() => {
    acceptor = new Acceptor(
      { maxBytes: MAX_BYTES, deadlineMs: 5000, maxPending: 1000, maxPendingPerAddress: 1000 },
      (batch) => reports.push(...batch),
    );
    fd = listenTcp('127.0.0.1', 0, 128);
    acceptor.listen(fd, 'property');
    port = listenerInfo(fd).local.port;
  });
  afterAll(() => {
    acceptor.close();
    closeFd(fd);
  });

  it('is reported ready exactly when the reference model can judge it, else at the end of the stream, with the bytes sent', async () => {
    const smbLike = fc
      .tuple(fc.integer({ min: 0, max: 400 }), fc.uint8Array({ maxLength: 300 }))
      .map(([length, rest]) => Buffer.concat([Buffer.from([0, 0, length >> 8, length & 0xff]), rest]));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 300 }).map(Buffer.from), smbLike),
        async (bytes) => {
          const seen = reports.length;
          const c = await dial(port);
          const from = c.localPort;
          // Ports come round again over many runs: only reports since this connection count.
          const mine = () =>
            reports.slice(seen).find((r) => r.kind !== 'accept-error' && r.remote.port === from);
          c.end(bytes);
          await until(() => mine() !== undefined);
          const r = mine()!;
          c.destroy();
          if (r.kind === 'ready') closeFd(r.fd);
          expect(r.kind).toBe(judgeable(bytes, MAX_BYTES) ? 'ready' : 'eof');
          expect('bytes' in r ? r.bytes.toString('hex') : r.kind).toBe(
            bytes.subarray(0, MAX_BYTES).toString('hex'),
          );
        },
      ),
      { numRuns: Math.min(RUNS, 150) },
    );
    expect(acceptor.pending()).toBe(0);
  });
});

/** The bounds' reference: the oldest of the source address at its bound, else the oldest overall. */
function modelShed(sources: number[], max: number, perAddress: number): number[] {
  const pending: { i: number; source: number }[] = [];
  const shed: number[] = [];
  sources.forEach((source, i) => {
    const own = () => pending.filter((p) => p.source === source);
    while (own().length >= perAddress) {
      const oldest = own()[0]!;
      pending.splice(pending.indexOf(oldest), 1);
      shed.push(oldest.i);
    }
    while (pending.length >= max) shed.push(pending.shift()!.i);
    pending.push({ i, source });
  });
  return shed;
}

describe('native acceptor: the pending bounds', () => {
  it('shed what the reference model sheds, in its order, and never hold more than the bounds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }),
        async (max, perAddress, sources) => {
          const reports: AcceptReport[] = [];
          const acceptor = new Acceptor(
            { maxBytes: MAX_BYTES, deadlineMs: 60_000, maxPending: max, maxPendingPerAddress: perAddress },
            (batch) => reports.push(...batch),
          );
          const fd = listenTcp('127.0.0.1', 0, 128);
          acceptor.listen(fd, 'property');
          const port = listenerInfo(fd).local.port;
          const clients: net.Socket[] = [];
          // Read at connect: a socket closed by the shed no longer knows its port.
          const ports: number[] = [];
          try {
            for (const source of sources) {
              const c = await dial(port, `127.0.0.${source + 2}`);
              clients.push(c);
              ports.push(c.localPort ?? -1);
              await until(() => acceptor.pending() + reports.length === clients.length);
              expect(acceptor.pending()).toBeLessThanOrEqual(max);
            }
            const shedPorts = reports.map((r) => (r.kind === 'shed' ? r.remote.port : -1));
            expect(shedPorts).toEqual(modelShed(sources, max, perAddress).map((i) => ports[i]));
          } finally {
            for (const c of clients) c.destroy();
            acceptor.close();
            closeFd(fd);
          }
        },
      ),
      { numRuns: Math.min(RUNS, 25) },
    );
  });
});
