import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CtdbPacketReader,
  ctdbPacketPull,
  ipMessagePull,
  nodeMapPull,
  nodeMapPush,
  publicIpsPull,
  publicIpsPush,
  replyControlPush,
  reqControlPush,
  reqMessagePush,
} from '../../ctdb/protocol/index.js';
import { WireError } from '../../wire/errors.js';
import { arbIpv4, arbIpv6, arbMutationOf, RUNS } from './arbitraries.js';

const arbHeader = fc.record({
  generation: fc.integer({ min: 0, max: 0xffffffff }),
  destnode: fc.integer({ min: 0, max: 0xffffffff }),
  srcnode: fc.integer({ min: 0, max: 0xffffffff }),
  reqid: fc.integer({ min: 0, max: 0xffffffff }),
});
const arbData = fc.uint8Array({ maxLength: 200 });
const arbSrvid = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

const arbPacket = fc.oneof(
  fc
    .record({ header: arbHeader, srvid: arbSrvid, data: arbData })
    .map((m) => ({ kind: 'msg' as const, m, bytes: reqMessagePush(m) })),
  fc
    .record({
      header: arbHeader,
      opcode: fc.integer({ min: 0, max: 0xffffffff }),
      srvid: arbSrvid,
      clientId: fc.integer({ min: 0, max: 0xffffffff }),
      flags: fc.integer({ min: 0, max: 0xffffffff }),
      data: arbData,
    })
    .map((c) => ({ kind: 'control' as const, c, bytes: reqControlPush(c) })),
  fc
    .record({
      header: arbHeader,
      status: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      data: arbData,
      error: fc.string({ maxLength: 60 }).filter((s) => !s.includes('\0')),
    })
    .map((r) => ({ kind: 'reply' as const, r, bytes: replyControlPush(r) })),
);

function typedOrValid(result: { ok: boolean; error?: unknown }): void {
  if (!result.ok) expect(result.error).toBeInstanceOf(WireError);
}

describe('ctdb packets', () => {
  it('decode ∘ encode preserves every field, and length is a multiple of 8', () => {
    fc.assert(
      fc.property(arbPacket, (p) => {
        expect(p.bytes.byteLength % 8).toBe(0);
        const d = ctdbPacketPull(p.bytes);
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        const v = d.value;
        if (p.kind === 'msg' && v.operation === 'req_message') {
          expect(v.packet.srvid).toBe(p.m.srvid);
          expect(Buffer.from(v.packet.data)).toEqual(Buffer.from(p.m.data));
          expect(v.packet.header.reqid).toBe(p.m.header.reqid);
        } else if (p.kind === 'control' && v.operation === 'req_control') {
          expect([v.packet.opcode, v.packet.srvid, v.packet.flags]).toEqual([
            p.c.opcode,
            p.c.srvid,
            p.c.flags,
          ]);
          expect(Buffer.from(v.packet.data)).toEqual(Buffer.from(p.c.data));
        } else if (p.kind === 'reply' && v.operation === 'reply_control') {
          expect([v.packet.status, v.packet.error]).toEqual([p.r.status, p.r.error]);
          expect(Buffer.from(v.packet.data)).toEqual(Buffer.from(p.r.data));
        } else {
          throw new Error(`decoded ${v.operation} from a ${p.kind}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('the reader frames any chunking of a packet stream', () => {
    fc.assert(
      fc.property(
        fc.array(arbPacket, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        (packets, step) => {
          const stream = Buffer.concat(packets.map((p) => p.bytes));
          const reader = new CtdbPacketReader();
          const out: Uint8Array[] = [];
          for (let at = 0; at < stream.length; at += step) {
            const { packets: got, error } = reader.push(stream.subarray(at, at + step));
            expect(error).toBeUndefined();
            out.push(...got);
          }
          expect(out.map((b) => Buffer.from(b).toString('hex'))).toEqual(
            packets.map((p) => Buffer.from(p.bytes).toString('hex')),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated packets and streams give a typed error or a valid parse', () => {
    const valid = reqMessagePush({
      header: { generation: 0, destnode: 1, srcnode: 0, reqid: 7 },
      srvid: 5n,
      data: Buffer.from('10.213.0.101\0'),
    });
    fc.assert(
      fc.property(arbMutationOf(valid), (bytes) => {
        typedOrValid(ctdbPacketPull(bytes));
        const { error } = new CtdbPacketReader().push(bytes);
        if (error) expect(error).toBeInstanceOf(WireError);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('control payloads', () => {
  const arbAddress = fc.oneof(arbIpv4, arbIpv6);

  it('node maps and public IP lists round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pnn: fc.nat({ max: 1000 }),
            flags: fc.integer({ min: 0, max: 63 }),
            address: arbAddress,
          }),
          { maxLength: 8 },
        ),
        fc.array(
          fc.record({ owner: fc.option(fc.nat({ max: 1000 }), { nil: undefined }), address: arbAddress }),
          { maxLength: 8 },
        ),
        (nodes, ips) => {
          const n = nodeMapPull(nodeMapPush(nodes));
          expect(n.ok && n.value).toEqual(nodes);
          const p = publicIpsPull(publicIpsPush(ips));
          expect(p.ok && p.value).toEqual(ips);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('random payloads give a typed error or a valid parse', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        typedOrValid(nodeMapPull(bytes));
        typedOrValid(publicIpsPull(bytes));
        typedOrValid(ipMessagePull(bytes));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('ctdb_connection (TCP_CLIENT payload)', () => {
  it('is the client sockaddr then the server sockaddr, 56 bytes, and round-trips', async () => {
    const { connectionPull, connectionPush } = await import('../../ctdb/protocol/controls.js');
    const arbEnd = fc.record({
      address: fc.oneof(arbIpv4, arbIpv6),
      port: fc.integer({ min: 0, max: 65535 }),
    });
    fc.assert(
      fc.property(arbEnd, arbEnd, (client, server) => {
        const bytes = connectionPush({ client, server });
        expect(bytes.byteLength).toBe(56);
        const back = connectionPull(bytes);
        expect(back.ok && back.value).toEqual({ client, server });
      }),
      { numRuns: RUNS },
    );
    const fixed = connectionPush({
      client: { address: '10.213.0.200', port: 0x1234 },
      server: { address: '10.213.0.101', port: 445 },
    });
    expect(Buffer.from(fixed.subarray(0, 8)).toString('hex')).toBe('020012340ad500c8');
    expect(Buffer.from(fixed.subarray(28, 36)).toString('hex')).toBe('020001bd0ad50065');
  });
});
