import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildNegotiateRequest,
  FrameReader,
  frame,
  interfaceInfoPull,
  interfaceInfoPush,
  ioctlRequestPull,
  ioctlResponsePull,
  negotiateRequestPull,
  negotiateRequestPush,
  negotiateResponsePull,
  unwrap,
  WireError,
} from '../../wire/index.js';
import { referenceBytes } from '../helpers/reference.js';
import { arbInterfaceList, arbMutationOf, RUNS } from './arbitraries.js';

/** A parse either succeeds or reports a WireError; anything thrown is a decoder bug. */
function typedOrValid(result: { ok: boolean; error?: unknown }): void {
  if (!result.ok) expect(result.error).toBeInstanceOf(WireError);
}

const arbGuid = fc.uuid({ version: 4 });
const arbDialects = fc.uniqueArray(fc.constantFrom(0x0202, 0x0210, 0x0300, 0x0302, 0x0311, 0x02ff), {
  minLength: 1,
  maxLength: 6,
});
const arbContext = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }),
  data: fc.uint8Array({ maxLength: 64 }),
});

describe('NETWORK_INTERFACE_INFO properties', () => {
  it('decode ∘ encode is the identity on lists', () => {
    fc.assert(
      fc.property(arbInterfaceList(), (list) => {
        expect(unwrap(interfaceInfoPull(interfaceInfoPush(list)))).toEqual(list);
      }),
      { numRuns: RUNS },
    );
  });

  it('every truncation or mutation yields a typed error or a valid parse', () => {
    const valid = referenceBytes('network_interface_info.standalone.bin');
    fc.assert(
      fc.property(arbMutationOf(valid), (bytes) => typedOrValid(interfaceInfoPull(bytes))),
      { numRuns: RUNS },
    );
  });

  it('random bytes yield a typed error or a valid parse', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), (bytes) => typedOrValid(interfaceInfoPull(bytes))),
      { numRuns: RUNS },
    );
  });
});

describe('NEGOTIATE request properties', () => {
  const arbRequest = fc.record({
    clientGuid: arbGuid,
    dialects: arbDialects,
    capabilities: fc.integer({ min: 0, max: 0xffffffff }),
    securityMode: fc.integer({ min: 0, max: 3 }),
    messageId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    negotiateContexts: fc.array(arbContext, { maxLength: 6 }),
  });

  it('decode ∘ encode preserves every field', () => {
    fc.assert(
      fc.property(arbRequest, (spec) => {
        const bytes = buildNegotiateRequest(spec);
        const req = unwrap(negotiateRequestPull(bytes));
        expect(req.clientGuid).toBe(spec.clientGuid);
        expect(req.dialects).toEqual(spec.dialects);
        expect(req.capabilities).toBe(spec.capabilities);
        expect(req.header.messageId).toBe(spec.messageId);
        if (spec.dialects.includes(0x0311)) expect(req.negotiateContexts).toEqual(spec.negotiateContexts);
        else expect(req.clientStartTime).toBe(0n);
        expect(Buffer.from(negotiateRequestPush(req)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('every truncation or mutation of the smbclient NEGOTIATE yields a typed error or a valid parse', () => {
    const valid = referenceBytes('negotiate_request.hex').subarray(4);
    fc.assert(
      fc.property(arbMutationOf(valid), (bytes) => typedOrValid(negotiateRequestPull(bytes))),
      { numRuns: RUNS },
    );
  });

  it('NEGOTIATE response and IOCTL decoders never throw on mutated input', () => {
    const valid = referenceBytes('negotiate_request.hex').subarray(4);
    fc.assert(
      fc.property(arbMutationOf(valid), (bytes) => {
        typedOrValid(negotiateResponsePull(bytes));
        typedOrValid(ioctlRequestPull(bytes));
        typedOrValid(ioctlResponsePull(bytes));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('FrameReader properties', () => {
  const arbMessages = fc
    .array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 6 })
    .map((bodies) => bodies.map((b) => Uint8Array.from([0xfe, 0x53, 0x4d, 0x42, ...b])));

  it('returns the same messages however the stream is chunked', () => {
    fc.assert(
      fc.property(
        arbMessages,
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        (messages, cuts) => {
          const stream = Buffer.concat(messages.map((m) => frame(m)));
          const reader = new FrameReader();
          const got: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            const { frames, error } = reader.push(stream.subarray(at, at + size));
            expect(error).toBeUndefined();
            got.push(...frames);
            at += size;
          }
          expect(reader.end()).toBeUndefined();
          expect(got.map((m) => Buffer.from(m).toString('hex'))).toEqual(
            messages.map((m) => Buffer.from(m).toString('hex')),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated or truncated streams give frames or a typed error, never a throw', () => {
    const valid = frame(buildNegotiateRequest({ clientGuid: '2acaa38d-f1d3-40c2-94e8-17bc98f2b571' }));
    fc.assert(
      fc.property(arbMutationOf(valid), fc.integer({ min: 1, max: 64 }), (bytes, step) => {
        const reader = new FrameReader({ maxFrame: 4096 });
        for (let at = 0; at < bytes.byteLength; at += step) {
          const { error } = reader.push(bytes.subarray(at, at + step));
          if (error) expect(error).toBeInstanceOf(WireError);
        }
        const end = reader.end();
        if (end) expect(end).toBeInstanceOf(WireError);
      }),
      { numRuns: RUNS },
    );
  });
});
