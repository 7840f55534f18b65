import { align8, ByteReader, ByteWriter } from '../cursor.js';
import { type Parsed, parse, WireError } from '../errors.js';
import { guidFromBytes, guidToBytes } from '../guid.js';
import { Dialect } from './dialects.js';
import {
  isResponse,
  requestHeader,
  SMB2_HEADER_LEN,
  Smb2Command,
  type Smb2Header,
  smb2HeaderPullFrom,
  smb2HeaderPush,
} from './header.js';
import {
  type NegotiateContext,
  negotiateContextsLen,
  negotiateContextsPull,
  negotiateContextsPush,
} from './negotiate-context.js';

/** SMB2 NEGOTIATE request (MS-SMB2 2.2.3). Offsets in the PDU are counted from the SMB2 header start. */
export const NEGOTIATE_REQUEST_STRUCTURE_SIZE = 0x24;
/** Windows and Samba accept at most this many dialects; more is malformed rather than generous. */
export const MAX_DIALECTS = 64;

export interface NegotiateRequest {
  header: Smb2Header;
  securityMode: number;
  capabilities: number;
  clientGuid: string;
  dialects: number[];
  /** For requests without 3.1.1: the 8 bytes are ClientStartTime. */
  clientStartTime?: bigint;
  /** For requests offering 3.1.1. */
  negotiateContexts?: NegotiateContext[];
  /** Reserved fields, kept only so decode → encode reproduces odd input exactly. */
  reserved?: number;
  reserved2?: number;
}

export function offers311(dialects: readonly number[]): boolean {
  return dialects.includes(Dialect.SMB3_11);
}

function contextsStart(dialectCount: number): number {
  return align8(SMB2_HEADER_LEN + NEGOTIATE_REQUEST_STRUCTURE_SIZE + 2 * dialectCount);
}

export function negotiateRequestLen(req: Omit<NegotiateRequest, 'header'>): number {
  const fixed = SMB2_HEADER_LEN + NEGOTIATE_REQUEST_STRUCTURE_SIZE + 2 * req.dialects.length;
  const contexts = offers311(req.dialects) ? (req.negotiateContexts ?? []) : [];
  if (contexts.length === 0) return fixed;
  return contextsStart(req.dialects.length) + negotiateContextsLen(contexts);
}

export function negotiateRequestPush(req: NegotiateRequest): Uint8Array {
  if (req.dialects.length === 0 || req.dialects.length > MAX_DIALECTS) {
    throw new WireError(
      'BAD_COUNT',
      `a NEGOTIATE needs 1..${MAX_DIALECTS} dialects, got ${req.dialects.length}`,
      0,
    );
  }
  const w = new ByteWriter(negotiateRequestLen(req));
  smb2HeaderPush({ ...req.header, command: Smb2Command.NEGOTIATE }, w);
  const b = SMB2_HEADER_LEN;
  w.u16(b, NEGOTIATE_REQUEST_STRUCTURE_SIZE);
  w.u16(b + 2, req.dialects.length);
  w.u16(b + 4, req.securityMode);
  w.u16(b + 6, req.reserved ?? 0);
  w.u32(b + 8, req.capabilities);
  w.set(b + 12, guidToBytes(req.clientGuid));
  req.dialects.forEach((d, i) => {
    w.u16(b + 36 + 2 * i, d);
  });
  if (offers311(req.dialects)) {
    const contexts = req.negotiateContexts ?? [];
    const start = contexts.length > 0 ? contextsStart(req.dialects.length) : 0;
    w.u32(b + 28, start);
    w.u16(b + 32, contexts.length);
    w.u16(b + 34, req.reserved2 ?? 0);
    if (contexts.length > 0) negotiateContextsPush(contexts, w, start);
  } else {
    w.u64(b + 28, req.clientStartTime ?? 0n);
  }
  return w.bytes;
}

export function negotiateRequestPullFrom(r: ByteReader): NegotiateRequest {
  const header = smb2HeaderPullFrom(r, 0);
  if (header.command !== Smb2Command.NEGOTIATE) {
    r.fail('BAD_COMMAND', `SMB2 command 0x${header.command.toString(16)} is not NEGOTIATE`, 12);
  }
  if (isResponse(header)) r.fail('BAD_COMMAND', 'this is a NEGOTIATE response, not a request', 16);
  const b = SMB2_HEADER_LEN;
  const structureSize = r.u16(b, 'NEGOTIATE StructureSize');
  if (structureSize !== NEGOTIATE_REQUEST_STRUCTURE_SIZE) {
    r.fail('BAD_STRUCTURE_SIZE', `NEGOTIATE StructureSize is ${structureSize}, expected 36`, b);
  }
  const dialectCount = r.u16(b + 2, 'DialectCount');
  if (dialectCount === 0 || dialectCount > MAX_DIALECTS) {
    r.fail('BAD_COUNT', `DialectCount ${dialectCount} is outside 1..${MAX_DIALECTS}`, b + 2);
  }
  const securityMode = r.u16(b + 4, 'SecurityMode');
  const reserved = r.u16(b + 6, 'Reserved');
  const capabilities = r.u32(b + 8, 'Capabilities');
  const clientGuid = guidFromBytes(r.slice(b + 12, 16, 'ClientGuid'));
  r.need(b + 36, 2 * dialectCount, `${dialectCount} dialects`);
  const dialects: number[] = [];
  for (let i = 0; i < dialectCount; i++) dialects.push(r.u16(b + 36 + 2 * i));
  const req: NegotiateRequest = { header, securityMode, capabilities, clientGuid, dialects };
  if (reserved !== 0) req.reserved = reserved;
  if (offers311(dialects)) {
    const offset = r.u32(b + 28, 'NegotiateContextOffset');
    const count = r.u16(b + 32, 'NegotiateContextCount');
    const reserved2 = r.u16(b + 34, 'Reserved2');
    if (reserved2 !== 0) req.reserved2 = reserved2;
    if (count > 0) {
      const dialectsEnd = b + 36 + 2 * dialectCount;
      if (offset < dialectsEnd) {
        r.fail(
          'BAD_OFFSET',
          `NegotiateContextOffset ${offset} points into the fixed part (ends at ${dialectsEnd})`,
          b + 28,
        );
      }
      if (offset >= r.length) {
        r.fail(
          'BAD_OFFSET',
          `NegotiateContextOffset ${offset} is past the end of the ${r.length}-byte message`,
          b + 28,
        );
      }
      req.negotiateContexts = negotiateContextsPull(r, offset, count);
    } else {
      req.negotiateContexts = [];
    }
  } else {
    req.clientStartTime = r.u64(b + 28, 'ClientStartTime');
  }
  return req;
}

/** Decodes one SMB2 message (no transport header) as a NEGOTIATE request. */
export function negotiateRequestPull(message: Uint8Array, base = 0): Parsed<NegotiateRequest> {
  return parse(() => negotiateRequestPullFrom(new ByteReader(message, base)));
}

/** A typical client NEGOTIATE (used by tests, benchmarks and the failover client simulator). */
export function buildNegotiateRequest(options: {
  clientGuid: string;
  dialects?: number[];
  messageId?: bigint;
  capabilities?: number;
  securityMode?: number;
  negotiateContexts?: NegotiateContext[];
}): Uint8Array {
  const dialects = options.dialects ?? [
    Dialect.SMB2_02,
    Dialect.SMB2_10,
    Dialect.SMB3_00,
    Dialect.SMB3_02,
    Dialect.SMB3_11,
  ];
  const preauth = new Uint8Array(38);
  // HashAlgorithmCount 1, SaltLength 32, SHA-512; the salt stays zero (it is only hashed, never checked here).
  preauth.set([1, 0, 32, 0, 1, 0]);
  const encryption = Uint8Array.of(2, 0, 2, 0, 1, 0);
  return negotiateRequestPush({
    header: requestHeader(Smb2Command.NEGOTIATE, options.messageId ?? 0n),
    securityMode: options.securityMode ?? 1,
    capabilities: options.capabilities ?? 0x7f,
    clientGuid: options.clientGuid,
    dialects,
    clientStartTime: 0n,
    negotiateContexts: options.negotiateContexts ?? [
      { type: 1, data: preauth },
      { type: 2, data: encryption },
    ],
  });
}
