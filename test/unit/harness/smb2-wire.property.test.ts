import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Parsed } from '../../../wire/errors.js';
import { WireError } from '../../../wire/errors.js';
import { Smb2Command, Smb2Flags, type Smb2Header } from '../../../wire/smb2/header.js';
import {
  closeRequestPull,
  closeRequestPush,
  closeResponsePull,
  closeResponsePush,
} from '../../harness/smb2/close.js';
import {
  createRequestLen,
  createRequestPull,
  createRequestPush,
  createResponseLen,
  createResponsePull,
  createResponsePush,
} from '../../harness/smb2/create.js';
import {
  createContextsLen,
  createContextsPull,
  createContextsPush,
  dh2cPull,
  dh2cPush,
  dh2qRequestPull,
  dh2qRequestPush,
  dh2qResponsePull,
  dh2qResponsePush,
  leaseV2Pull,
  leaseV2Push,
} from '../../harness/smb2/create-contexts.js';
import { errorResponsePull, errorResponsePush } from '../../harness/smb2/message.js';
import {
  avPairsPull,
  avPairsPush,
  ntlmAuthenticateLen,
  ntlmAuthenticatePull,
  ntlmAuthenticatePush,
  ntlmChallengeLen,
  ntlmChallengePull,
  ntlmChallengePush,
  ntlmNegotiatePull,
  ntlmNegotiatePush,
} from '../../harness/smb2/ntlmssp.js';
import {
  sessionSetupRequestLen,
  sessionSetupRequestPull,
  sessionSetupRequestPush,
  sessionSetupResponseLen,
  sessionSetupResponsePull,
  sessionSetupResponsePush,
} from '../../harness/smb2/session-setup.js';
import {
  treeConnectRequestLen,
  treeConnectRequestPull,
  treeConnectRequestPush,
  treeConnectResponseLen,
  treeConnectResponsePull,
  treeConnectResponsePush,
} from '../../harness/smb2/tree-connect.js';
import { arbMutationOf, RUNS } from '../../property/arbitraries.js';

/**
 * Every codec of the durable probe: encode → decode is the identity, `*Len` is the encoded size, and
 * random or mutated bytes give a WireError or a valid parse, never an exception of another kind.
 */
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const blob = (maxLength = 64) => fc.uint8Array({ maxLength });
const id16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const text = fc.string({ unit: 'grapheme', maxLength: 24 });
const guid = fc.uuid();

function arbHeader(command: number, response: boolean): fc.Arbitrary<Smb2Header> {
  return fc.record({
    creditCharge: u16,
    status: u32,
    command: fc.constant(command),
    credits: u16,
    flags: u32.map((f) => {
      const sync = f & ~Smb2Flags.ASYNC_COMMAND;
      return (response ? sync | Smb2Flags.SERVER_TO_REDIR : sync & ~Smb2Flags.SERVER_TO_REDIR) >>> 0;
    }),
    nextCommand: u32,
    messageId: u64,
    processId: u32,
    treeId: u32,
    sessionId: u64,
    signature: id16,
  });
}

const arbContexts = fc.array(
  fc.record({ name: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), data: blob(40) }),
  { maxLength: 5 },
);

interface Codec<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  push: (value: T) => Uint8Array;
  pull: (bytes: Uint8Array) => Parsed<T>;
  len?: (value: T) => number;
}

function codec<T>(c: Codec<T>): Codec<unknown> {
  return c as unknown as Codec<unknown>;
}

const CODECS: Codec<unknown>[] = [
  codec({
    name: 'SESSION_SETUP request',
    arb: fc.record({
      header: arbHeader(Smb2Command.SESSION_SETUP, false),
      flags: u8,
      securityMode: u8,
      capabilities: u32,
      previousSessionId: u64,
      securityBuffer: blob(),
    }),
    push: sessionSetupRequestPush,
    pull: sessionSetupRequestPull,
    len: sessionSetupRequestLen,
  }),
  codec({
    name: 'SESSION_SETUP response',
    arb: fc.record({
      header: arbHeader(Smb2Command.SESSION_SETUP, true),
      sessionFlags: u16,
      securityBuffer: blob(),
    }),
    push: sessionSetupResponsePush,
    pull: sessionSetupResponsePull,
    len: sessionSetupResponseLen,
  }),
  codec({
    name: 'TREE_CONNECT request',
    arb: fc.record({ header: arbHeader(Smb2Command.TREE_CONNECT, false), flags: u16, path: text }),
    push: treeConnectRequestPush,
    pull: treeConnectRequestPull,
    len: treeConnectRequestLen,
  }),
  codec({
    name: 'TREE_CONNECT response',
    arb: fc.record({
      header: arbHeader(Smb2Command.TREE_CONNECT, true),
      shareType: u8,
      shareFlags: u32,
      capabilities: u32,
      maximalAccess: u32,
    }),
    push: treeConnectResponsePush,
    pull: treeConnectResponsePull,
    len: treeConnectResponseLen,
  }),
  codec({
    name: 'CREATE request',
    arb: fc.record({
      header: arbHeader(Smb2Command.CREATE, false),
      oplockLevel: u8,
      impersonationLevel: u32,
      desiredAccess: u32,
      fileAttributes: u32,
      shareAccess: u32,
      createDisposition: u32,
      createOptions: u32,
      name: text,
      contexts: arbContexts,
    }),
    push: createRequestPush,
    pull: createRequestPull,
    len: createRequestLen,
  }),
  codec({
    name: 'CREATE response',
    arb: fc.record({
      header: arbHeader(Smb2Command.CREATE, true),
      oplockLevel: u8,
      flags: u8,
      createAction: u32,
      creationTime: u64,
      lastAccessTime: u64,
      lastWriteTime: u64,
      changeTime: u64,
      allocationSize: u64,
      endOfFile: u64,
      fileAttributes: u32,
      fileId: id16,
      contexts: arbContexts,
    }),
    push: createResponsePush,
    pull: createResponsePull,
    len: createResponseLen,
  }),
  codec({
    name: 'CLOSE request',
    arb: fc.record({ header: arbHeader(Smb2Command.CLOSE, false), flags: u16, fileId: id16 }),
    push: closeRequestPush,
    pull: closeRequestPull,
  }),
  codec({
    name: 'CLOSE response',
    arb: fc.record({
      header: arbHeader(Smb2Command.CLOSE, true),
      flags: u16,
      creationTime: u64,
      lastAccessTime: u64,
      lastWriteTime: u64,
      changeTime: u64,
      allocationSize: u64,
      endOfFile: u64,
      fileAttributes: u32,
    }),
    push: closeResponsePush,
    pull: closeResponsePull,
  }),
  codec({
    name: 'ERROR response',
    arb: fc.record({
      header: arbHeader(Smb2Command.CREATE, true),
      errorContextCount: u8,
      errorData: blob(32).filter((b) => b.byteLength > 0),
    }),
    push: errorResponsePush,
    pull: errorResponsePull,
  }),
  codec({
    name: 'create context chain',
    arb: arbContexts,
    push: createContextsPush,
    pull: createContextsPull,
    len: createContextsLen,
  }),
  codec({
    name: 'DH2Q request',
    arb: fc.record({ timeoutMs: u32, flags: u32, createGuid: guid }),
    push: dh2qRequestPush,
    pull: dh2qRequestPull,
  }),
  codec({
    name: 'DH2Q response',
    arb: fc.record({ timeoutMs: u32, flags: u32 }),
    push: dh2qResponsePush,
    pull: dh2qResponsePull,
  }),
  codec({
    name: 'DH2C',
    arb: fc.record({ fileId: id16, createGuid: guid, flags: u32 }),
    push: dh2cPush,
    pull: dh2cPull,
  }),
  codec({
    name: 'lease v2 (RqLs)',
    arb: fc.record({ leaseKey: id16, leaseState: u32, flags: u32, parentLeaseKey: id16, epoch: u16 }),
    push: leaseV2Push,
    pull: leaseV2Pull,
  }),
  codec({
    name: 'NTLMSSP NEGOTIATE',
    arb: fc.record({ flags: u32.map((f) => (f & ~0x02000000) >>> 0) }),
    push: ntlmNegotiatePush,
    pull: ntlmNegotiatePull,
  }),
  codec({
    name: 'NTLMSSP CHALLENGE',
    arb: fc.record({
      flags: u32.map((f) => (f & ~0x02000000) >>> 0),
      targetName: blob(),
      serverChallenge: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      targetInfo: blob(),
    }),
    push: ntlmChallengePush,
    pull: ntlmChallengePull,
    len: ntlmChallengeLen,
  }),
  codec({
    name: 'NTLMSSP AUTHENTICATE',
    arb: fc.record({
      flags: u32.map((f) => (f & ~0x02000000) >>> 0),
      lmResponse: blob(),
      ntResponse: blob(),
      domain: text,
      user: text,
      workstation: text,
      encryptedSessionKey: blob(16),
    }),
    push: ntlmAuthenticatePush,
    pull: ntlmAuthenticatePull,
    len: ntlmAuthenticateLen,
  }),
  codec({
    name: 'AV_PAIR list',
    arb: fc.array(fc.record({ id: fc.integer({ min: 1, max: 0xffff }), value: blob(24) }), { maxLength: 6 }),
    push: avPairsPush,
    pull: avPairsPull,
  }),
];

function typedOrValid(result: Parsed<unknown>): void {
  if (!result.ok) expect(result.error).toBeInstanceOf(WireError);
}

for (const c of CODECS) {
  describe(`${c.name} properties`, () => {
    it('decode ∘ encode is the identity, and *_len is the encoded size', () => {
      fc.assert(
        fc.property(c.arb, (value) => {
          const bytes = c.push(value);
          if (c.len) expect(bytes.byteLength).toBe(c.len(value));
          const back = c.pull(bytes);
          if (!back.ok) throw back.error;
          expect(back.value).toEqual(value);
        }),
        { numRuns: RUNS },
      );
    });

    it('random bytes give a typed error or a valid parse', () => {
      fc.assert(
        fc.property(blob(400), (bytes) => typedOrValid(c.pull(bytes))),
        { numRuns: RUNS },
      );
    });

    it('mutated and truncated encodings give a typed error or a valid parse', () => {
      fc.assert(
        fc.property(
          c.arb.chain((value) => arbMutationOf(c.push(value))),
          (bytes) => typedOrValid(c.pull(bytes)),
        ),
        { numRuns: RUNS },
      );
    });

    it('a valid prefix (header, StructureSize, offsets) and a random tail give a typed error or a valid parse', () => {
      // Random bytes alone stop at the protocol id; this reaches the body and the offset checks.
      fc.assert(
        fc.property(c.arb, fc.nat({ max: 140 }), blob(200), (value, keep, tail) => {
          const valid = c.push(value);
          const bytes = new Uint8Array(Math.min(keep, valid.byteLength) + tail.byteLength);
          bytes.set(valid.subarray(0, Math.min(keep, valid.byteLength)));
          bytes.set(tail, Math.min(keep, valid.byteLength));
          typedOrValid(c.pull(bytes));
        }),
        { numRuns: RUNS },
      );
    });
  });
}
