import { align8, ByteReader, ByteWriter } from '../cursor.js';
import { type Parsed, parse } from '../errors.js';
import { guidFromBytes, guidToBytes } from '../guid.js';
import { Dialect } from './dialects.js';
import {
  SMB2_HEADER_LEN,
  Smb2Command,
  Smb2Flags,
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

/** SMB2 NEGOTIATE response (MS-SMB2 2.2.4): 64 fixed bytes (StructureSize 65), security blob, contexts. */
export const NEGOTIATE_RESPONSE_STRUCTURE_SIZE = 65;
const FIXED = 64;

export interface NegotiateResponse {
  header: Smb2Header;
  securityMode: number;
  dialect: number;
  serverGuid: string;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  systemTime: bigint;
  serverStartTime: bigint;
  securityBuffer: Uint8Array;
  negotiateContexts: NegotiateContext[];
}

function layout(res: Pick<NegotiateResponse, 'securityBuffer' | 'negotiateContexts' | 'dialect'>) {
  const securityOffset = SMB2_HEADER_LEN + FIXED;
  const securityEnd = securityOffset + res.securityBuffer.byteLength;
  const contexts = res.dialect === Dialect.SMB3_11 ? res.negotiateContexts : [];
  const contextOffset = contexts.length > 0 ? align8(securityEnd) : 0;
  const total = contexts.length > 0 ? contextOffset + negotiateContextsLen(contexts) : securityEnd;
  return { securityOffset, contextOffset, contexts, total };
}

export function negotiateResponseLen(res: NegotiateResponse): number {
  return layout(res).total;
}

export function negotiateResponsePush(res: NegotiateResponse): Uint8Array {
  const { securityOffset, contextOffset, contexts, total } = layout(res);
  const w = new ByteWriter(total);
  smb2HeaderPush({ ...res.header, command: Smb2Command.NEGOTIATE }, w);
  const b = SMB2_HEADER_LEN;
  w.u16(b, NEGOTIATE_RESPONSE_STRUCTURE_SIZE);
  w.u16(b + 2, res.securityMode);
  w.u16(b + 4, res.dialect);
  w.u16(b + 6, contexts.length);
  w.set(b + 8, guidToBytes(res.serverGuid));
  w.u32(b + 24, res.capabilities);
  w.u32(b + 28, res.maxTransactSize);
  w.u32(b + 32, res.maxReadSize);
  w.u32(b + 36, res.maxWriteSize);
  w.u64(b + 40, res.systemTime);
  w.u64(b + 48, res.serverStartTime);
  w.u16(b + 56, res.securityBuffer.byteLength > 0 ? securityOffset : 0);
  w.u16(b + 58, res.securityBuffer.byteLength);
  w.u32(b + 60, contextOffset);
  w.set(securityOffset, res.securityBuffer);
  if (contexts.length > 0) negotiateContextsPush(contexts, w, contextOffset);
  return w.bytes;
}

export function negotiateResponsePullFrom(r: ByteReader): NegotiateResponse {
  const header = smb2HeaderPullFrom(r, 0);
  if (header.command !== Smb2Command.NEGOTIATE) {
    r.fail('BAD_COMMAND', `SMB2 command 0x${header.command.toString(16)} is not NEGOTIATE`, 12);
  }
  if ((header.flags & Smb2Flags.SERVER_TO_REDIR) === 0) r.fail('BAD_COMMAND', 'not a response', 16);
  const b = SMB2_HEADER_LEN;
  const structureSize = r.u16(b, 'StructureSize');
  if (structureSize !== NEGOTIATE_RESPONSE_STRUCTURE_SIZE) {
    r.fail('BAD_STRUCTURE_SIZE', `NEGOTIATE response StructureSize is ${structureSize}, expected 65`, b);
  }
  const dialect = r.u16(b + 4, 'DialectRevision');
  const contextCount = r.u16(b + 6, 'NegotiateContextCount');
  const securityOffset = r.u16(b + 56, 'SecurityBufferOffset');
  const securityLength = r.u16(b + 58, 'SecurityBufferLength');
  const contextOffset = r.u32(b + 60, 'NegotiateContextOffset');
  let securityBuffer = new Uint8Array(0);
  if (securityLength > 0) {
    if (securityOffset < b + FIXED)
      r.fail('BAD_OFFSET', `SecurityBufferOffset ${securityOffset} points into the fixed part`, b + 56);
    securityBuffer = r.slice(securityOffset, securityLength, 'security buffer').slice();
  }
  let negotiateContexts: NegotiateContext[] = [];
  if (dialect === Dialect.SMB3_11 && contextCount > 0) {
    if (contextOffset < b + FIXED)
      r.fail('BAD_OFFSET', `NegotiateContextOffset ${contextOffset} points into the fixed part`, b + 60);
    negotiateContexts = negotiateContextsPull(r, contextOffset, contextCount);
  }
  return {
    header,
    securityMode: r.u16(b + 2),
    dialect,
    serverGuid: guidFromBytes(r.slice(b + 8, 16)),
    capabilities: r.u32(b + 24),
    maxTransactSize: r.u32(b + 28),
    maxReadSize: r.u32(b + 32),
    maxWriteSize: r.u32(b + 36),
    systemTime: r.u64(b + 40),
    serverStartTime: r.u64(b + 48),
    securityBuffer,
    negotiateContexts,
  };
}

export function negotiateResponsePull(message: Uint8Array, base = 0): Parsed<NegotiateResponse> {
  return parse(() => negotiateResponsePullFrom(new ByteReader(message, base)));
}

/** Windows FILETIME (100 ns since 1601) for a JS time in milliseconds. */
export function fileTime(ms: number): bigint {
  return (BigInt(Math.trunc(ms)) + 11_644_473_600_000n) * 10_000n;
}
