import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carrierPair, closeFd, memfdCreate, SeqpacketServer } from '../../../native/index.js';
import {
  CarrierChannel,
  type Descriptor,
  expectedLbuf,
  Flags,
  FRAGMENT_BYTES,
  fillLbuf,
  MAX_MESSAGE,
  replyPull,
  requestPull,
  requestPush,
  SmbdTestClient,
  SmbdTestServer,
  Status,
  StreamChannel,
  TransportUnavailableError,
} from '../../../smbdirect/index.js';
import { WireError } from '../../../wire/errors.js';
import { RUNS } from '../../property/arbitraries.js';

const server = new SmbdTestServer();
const dir = mkdtempSync(join(tmpdir(), 'mcc-smbd-test-'));
let tcp: Server;
let unix: SeqpacketServer;
let tcpPort: number;
const clients: Record<'inline' | 'shm', SmbdTestClient> = {} as never;

beforeAll(async () => {
  tcp = createServer((s) => server.serve(new StreamChannel(s)));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  tcpPort = (tcp.address() as { port: number }).port;
  unix = new SeqpacketServer(join(dir, 'smbd-test.sock'), { maxBytes: 2 * 1024 * 1024, maxFds: 4 });
  unix.on('connection', (c) => server.serve(new CarrierChannel(c)));
  clients.inline = await SmbdTestClient.connect({ transport: 'inline', port: tcpPort });
  clients.shm = await SmbdTestClient.connect({ transport: 'shm', path: join(dir, 'smbd-test.sock') });
});
afterAll(() => {
  clients.inline?.close();
  clients.shm?.close();
  tcp.close();
  unix.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Splits [0, length) into descriptors over the given regions at random offsets that fit. */
function arbLayout(maxLength: number) {
  return fc
    .record({
      lbufSize: fc.integer({ min: 8, max: maxLength }),
      cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
      slack: fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 6, maxLength: 6 }),
      start: fc.double({ min: 0, max: 1, noNaN: true }),
      lenFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      nonce: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    })
    .map((r) => {
      const offset = Math.floor(r.start * (r.lbufSize - 1));
      const length = Math.max(1, Math.floor(r.lenFrac * (r.lbufSize - offset)));
      const points = [...new Set(r.cuts.map((c) => Math.floor(c * length)))]
        .filter((p) => p > 0 && p < length)
        .sort((a, b) => a - b);
      const pieces = [0, ...points, length].slice(1).map((end, i, all) => end - (i === 0 ? 0 : all[i - 1]!));
      return { ...r, offset, length, pieces };
    });
}

async function layoutRegions(client: SmbdTestClient, pieces: number[], slack: number[]) {
  const descs: Descriptor[] = [];
  const regions = [];
  for (const [i, len] of pieces.entries()) {
    const before = slack[i % slack.length]!;
    const region = await client.registerRegion(before + len + slack[(i + 1) % slack.length]!);
    regions.push(region);
    descs.push({ iova: BigInt(before), rkey: region.rkey, length: len });
  }
  return { descs, regions };
}

for (const transport of ['inline', 'shm'] as const) {
  describe(`SMB-Direct test protocol over ${transport === 'inline' ? 'TCP (inline data)' : 'shared memory (memfd + SCM_RIGHTS)'}`, () => {
    it('READ-LBUF-TO-DESCS puts exactly the nonce pattern into the described memory', async () => {
      await fc.assert(
        fc.asyncProperty(arbLayout(64 * 1024), async (l) => {
          const client = clients[transport];
          await client.setupLbuf(1, l.lbufSize, l.nonce);
          const { descs, regions } = await layoutRegions(client, l.pieces, l.slack);
          expect(await client.read(1, l.offset, l.length, descs)).toBe(l.length);
          const got = Buffer.concat(
            descs.map((d, i) => regions[i]!.bytes.subarray(Number(d.iova), Number(d.iova) + d.length)),
          );
          expect(got.equals(Buffer.from(expectedLbuf(l.nonce, l.offset, l.length)))).toBe(true);
          // Bytes around the descriptors are untouched.
          for (const [i, d] of descs.entries())
            expect(regions[i]!.bytes.subarray(0, Number(d.iova)).every((b) => b === 0)).toBe(true);
        }),
        { numRuns: Math.max(100, RUNS / 50) },
      );
    });

    it('WRITE-DESCS-TO-LBUF stores the described bytes, read back through other descriptors', async () => {
      await fc.assert(
        fc.asyncProperty(arbLayout(32 * 1024), fc.integer({ min: 0, max: 255 }), async (l, seed) => {
          const client = clients[transport];
          await client.setupLbuf(2, l.lbufSize, l.nonce);
          const { descs, regions } = await layoutRegions(client, l.pieces, l.slack);
          const payload = Uint8Array.from({ length: l.length }, (_, i) => (i * 31 + seed) & 0xff);
          let at = 0;
          for (const [i, d] of descs.entries()) {
            regions[i]!.bytes.set(payload.subarray(at, at + d.length), Number(d.iova));
            at += d.length;
          }
          expect(await client.write(2, l.offset, l.length, descs)).toBe(l.length);
          const back = await client.registerRegion(l.length);
          await client.read(2, l.offset, l.length, [{ iova: 0n, rkey: back.rkey, length: l.length }]);
          expect(Buffer.from(back.bytes).equals(Buffer.from(payload))).toBe(true);
        }),
        { numRuns: Math.max(100, RUNS / 50) },
      );
    });

    it('refuses bad descriptors with a status and touches no memory', async () => {
      const client = clients[transport];
      await client.setupLbuf(3, 4096, 7n);
      const r = await client.registerRegion(100);
      const cases: [Descriptor[], number, number][] = [
        [[{ iova: 90n, rkey: r.rkey, length: 20 }], 20, Status.DESCRIPTOR_OUT_OF_REGION],
        [[{ iova: 2n ** 64n - 1n, rkey: r.rkey, length: 2 }], 2, Status.DESCRIPTOR_OUT_OF_REGION],
        [[{ iova: 0n, rkey: 9999, length: 10 }], 10, Status.UNKNOWN_KEY],
        [[{ iova: 0n, rkey: r.rkey, length: 10 }], 11, Status.LENGTH_MISMATCH],
      ];
      for (const [descs, length, status] of cases) {
        await expect(client.read(3, 0, length, descs)).rejects.toMatchObject({ status });
      }
      await expect(client.read(3, 4090, 10, [{ iova: 0n, rkey: r.rkey, length: 10 }])).rejects.toMatchObject({
        status: Status.LBUF_RANGE,
      });
      await expect(client.read(99, 0, 10, [{ iova: 0n, rkey: r.rkey, length: 10 }])).rejects.toMatchObject({
        status: Status.NO_SUCH_LBUF,
      });
      expect(r.bytes.every((b) => b === 0)).toBe(true);
    });

    it('SEND_WITH_INV invalidates the key: the next use is refused as stale', async () => {
      const client = clients[transport];
      await client.setupLbuf(4, 64, 1n);
      const r = await client.registerRegion(64);
      expect(await client.read(4, 0, 64, [{ iova: 0n, rkey: r.rkey, length: 64 }], Flags.SEND_WITH_INV)).toBe(
        64,
      );
      await expect(client.read(4, 0, 8, [{ iova: 0n, rkey: r.rkey, length: 8 }])).rejects.toMatchObject({
        status: Status.STALE_KEY,
      });
      const r2 = await client.registerRegion(8);
      await client.invalidate(r2.rkey);
      await expect(client.write(4, 0, 8, [{ iova: 0n, rkey: r2.rkey, length: 8 }])).rejects.toMatchObject({
        status: Status.STALE_KEY,
      });
    });

    it('ECHO repeats the data echo_factor times, capped by max_response', async () => {
      const client = clients[transport];
      expect(Buffer.from(await client.echo(Buffer.from('abc'), 3, 100)).toString()).toBe('abcabcabc');
      expect(Buffer.from(await client.echo(Buffer.from('abc'), 3, 7)).toString()).toBe('abcabca');
    });

    it('ECHO carries messages larger than one datagram (1 MiB each way, two at once)', async () => {
      const client = clients[transport];
      const data = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff);
      const other = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 13) & 0xff);
      const [a, b] = await Promise.all([client.echo(data, 1, 1 << 20), client.echo(other, 2, 1 << 20)]);
      expect(Buffer.from(a).equals(Buffer.from(data))).toBe(true);
      expect(Buffer.from(b).equals(Buffer.concat([other, other]))).toBe(true);
    });
  });
}

describe('carrier fragments (shared-memory transport framing)', () => {
  function pair() {
    const [a, b] = carrierPair();
    return { raw: a, channel: new CarrierChannel(b) };
  }
  function fragment(remaining: number, bytes: number): Uint8Array {
    const d = new Uint8Array(4 + bytes);
    new DataView(d.buffer).setUint32(0, remaining, false);
    return d;
  }
  function nextError(channel: CarrierChannel): Promise<string> {
    return new Promise((resolve) => channel.once('error', (e) => resolve(e.message)));
  }

  it('a message of several fragments arrives whole, with the fds of its first fragment', async () => {
    const { raw, channel } = pair();
    const received = new Promise<[Uint8Array, number[]]>((resolve) =>
      channel.once('message', (m, fds) => resolve([m, fds])),
    );
    const fd = memfdCreate('mcc-fragment-test', 8);
    await raw.send(fragment(FRAGMENT_BYTES, FRAGMENT_BYTES), [fd]);
    closeFd(fd);
    await raw.send(fragment(0, FRAGMENT_BYTES), []);
    const [message, fds] = await received;
    expect(message.byteLength).toBe(2 * FRAGMENT_BYTES);
    expect(fds).toHaveLength(1);
    for (const f of fds) closeFd(f);
    raw.close();
    channel.close();
  });

  it('a fragment that does not continue the message, or claims too much, is an error', async () => {
    for (const [first, second, expected] of [
      [fragment(100, 10), fragment(0, 10), /fragment says 0 bytes follow, 90 expected/],
      [fragment(MAX_MESSAGE, 10), undefined, /exceeds/],
      [new Uint8Array(2), undefined, /has no header/],
    ] as const) {
      const { raw, channel } = pair();
      const error = nextError(channel);
      await raw.send(first, []);
      if (second) await raw.send(second, []);
      expect(await error).toMatch(expected);
      raw.close();
    }
  });
});

describe('SMB-Direct test protocol, the rest', () => {
  it('the LBUF pattern is PUSH_UINT64_LE(buf, ofs, nonce ^ ofs)', () => {
    const b = new Uint8Array(20);
    fillLbuf(b, 0x1122334455667788n);
    const v = new DataView(b.buffer);
    expect(v.getBigUint64(0, true)).toBe(0x1122334455667788n);
    expect(v.getBigUint64(8, true)).toBe(0x1122334455667788n ^ 8n);
    expect(Buffer.from(expectedLbuf(0x1122334455667788n, 3, 14)).equals(Buffer.from(b.subarray(3, 17)))).toBe(
      true,
    );
  });

  it('the smbdirect transport reports exactly why it cannot run here', async () => {
    await expect(SmbdTestClient.connect({ transport: 'smbdirect' })).rejects.toThrow(
      TransportUnavailableError,
    );
    await expect(SmbdTestClient.connect({ transport: 'smbdirect' })).rejects.toThrow(
      /AF_INET\/SOCK_STREAM\/263: E[A-Z]+/,
    );
  });

  it('shared memory over a stream without fd passing is refused up front', () => {
    expect(() => new SmbdTestClient(new StreamChannel(new Socket()), 'shm')).toThrow(
      TransportUnavailableError,
    );
  });

  it('request and reply parsers give a typed error or a valid parse for any bytes', () => {
    const valid = requestPush({
      op: 'read',
      id: 1,
      lbuf: 1,
      flags: 1,
      offset: 0,
      length: 16,
      descs: [{ iova: 0n, rkey: 1, length: 16 }],
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }).map((w) => {
            const b = Uint8Array.from(valid);
            for (const [at, v] of w) b[at % b.length] = v;
            return b;
          }),
        ),
        (bytes) => {
          for (const r of [requestPull(bytes), replyPull(bytes)])
            if (!r.ok) expect(r.error).toBeInstanceOf(WireError);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
