import { align8, ByteReader, ByteWriter } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';
import { guidFromBytes, guidToBytes } from '../../../wire/guid.js';

/**
 * SMB2_CREATE_CONTEXT chains (MS-SMB2 2.2.13.2) and the durable-handle-v2 payloads the probe needs:
 * DH2Q request (2.2.13.2.11), DH2Q response (2.2.14.2.12) and DH2C reconnect (2.2.13.2.12).
 * Each context starts 8-aligned; Next is the distance to the next one, 0 on the last.
 */
export const CreateContextName = {
  DH2Q: 'DH2Q',
  DH2C: 'DH2C',
  DHNQ: 'DHnQ',
  DHNC: 'DHnC',
  LEASE: 'RqLs',
  MXAC: 'MxAc',
  QFID: 'QFid',
} as const;

export interface CreateContext {
  /** The tag, ASCII (4 bytes for all the standard ones). */
  name: string;
  data: Uint8Array;
}

const HEADER = 16;

function nameBytes(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(name, 'latin1'));
}

function dataOffset(name: string): number {
  return align8(HEADER + nameBytes(name).byteLength);
}

function contextLen(c: CreateContext): number {
  return dataOffset(c.name) + c.data.byteLength;
}

export function createContextsLen(contexts: readonly CreateContext[]): number {
  let len = 0;
  contexts.forEach((c, i) => {
    len += contextLen(c);
    if (i < contexts.length - 1) len = align8(len);
  });
  return len;
}

export function createContextsPush(contexts: readonly CreateContext[]): Uint8Array {
  const w = new ByteWriter(createContextsLen(contexts));
  let at = 0;
  contexts.forEach((c, i) => {
    const name = nameBytes(c.name);
    const next = i < contexts.length - 1 ? align8(contextLen(c)) : 0;
    w.u32(at, next);
    w.u16(at + 4, HEADER);
    w.u16(at + 6, name.byteLength);
    w.u16(at + 10, c.data.byteLength > 0 ? dataOffset(c.name) : 0);
    w.u32(at + 12, c.data.byteLength);
    w.set(at + HEADER, name);
    w.set(at + dataOffset(c.name), c.data);
    at += next;
  });
  return w.bytes;
}

/** At most this many contexts in one chain: more is malformed, not generous. */
export const MAX_CREATE_CONTEXTS = 64;

export function createContextsPullFrom(r: ByteReader, start: number, length: number): CreateContext[] {
  r.need(start, length, 'create contexts');
  if (length === 0) return [];
  const end = start + length;
  const contexts: CreateContext[] = [];
  let at = start;
  for (;;) {
    if (contexts.length >= MAX_CREATE_CONTEXTS)
      r.fail('BAD_COUNT', `more than ${MAX_CREATE_CONTEXTS} create contexts`, at);
    if (at + HEADER > end) r.fail('TRUNCATED', 'create context header runs past the chain', at);
    const next = r.u32(at, 'create context Next');
    const nameOffset = r.u16(at + 4, 'NameOffset');
    const nameLength = r.u16(at + 6, 'NameLength');
    const dataOff = r.u16(at + 10, 'DataOffset');
    const dataLength = r.u32(at + 12, 'DataLength');
    const limit = next === 0 ? end - at : next;
    if (nameOffset < HEADER || nameOffset + nameLength > limit)
      r.fail('BAD_OFFSET', `create context name (${nameOffset}+${nameLength}) is outside it`, at + 4);
    if (dataLength > 0 && (dataOff < nameOffset + nameLength || dataOff + dataLength > limit))
      r.fail('BAD_OFFSET', `create context data (${dataOff}+${dataLength}) is outside it`, at + 10);
    const name = Buffer.from(r.slice(at + nameOffset, nameLength, 'context name')).toString('latin1');
    const data =
      dataLength > 0 ? r.slice(at + dataOff, dataLength, 'context data').slice() : new Uint8Array(0);
    contexts.push({ name, data });
    if (next === 0) break;
    if (next % 8 !== 0 || next < HEADER) r.fail('BAD_OFFSET', `create context Next ${next} is not valid`, at);
    at += next;
  }
  return contexts;
}

export function createContextsPull(bytes: Uint8Array, base = 0): Parsed<CreateContext[]> {
  return parse(() => createContextsPullFrom(new ByteReader(bytes, base), 0, bytes.byteLength));
}

export const DurableV2Flags = { PERSISTENT: 0x2 } as const;

export interface DurableV2Request {
  timeoutMs: number;
  flags: number;
  createGuid: string;
}

export interface DurableV2Response {
  timeoutMs: number;
  flags: number;
}

export interface DurableV2Reconnect {
  /** The 16-byte SMB2_FILEID (persistent then volatile) as the server returned it. */
  fileId: Uint8Array;
  createGuid: string;
  flags: number;
}

export const DH2Q_REQUEST_LEN = 32;
export const DH2Q_RESPONSE_LEN = 8;
export const DH2C_LEN = 36;

export function dh2qRequestPush(req: DurableV2Request): Uint8Array {
  const w = new ByteWriter(DH2Q_REQUEST_LEN);
  w.u32(0, req.timeoutMs);
  w.u32(4, req.flags);
  w.set(16, guidToBytes(req.createGuid));
  return w.bytes;
}

/** Exact sizes, as smbd checks them (NT_STATUS_INVALID_PARAMETER otherwise). */
function exact(r: ByteReader, size: number, what: string): void {
  if (r.length !== size) r.fail('BAD_VALUE', `${what} is ${size} bytes, got ${r.length}`, 0);
}

export function dh2qRequestPull(bytes: Uint8Array, base = 0): Parsed<DurableV2Request> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    exact(r, DH2Q_REQUEST_LEN, 'a DH2Q request');
    return { timeoutMs: r.u32(0), flags: r.u32(4), createGuid: guidFromBytes(r.slice(16, 16)) };
  });
}

export function dh2qResponsePush(res: DurableV2Response): Uint8Array {
  const w = new ByteWriter(DH2Q_RESPONSE_LEN);
  w.u32(0, res.timeoutMs);
  w.u32(4, res.flags);
  return w.bytes;
}

export function dh2qResponsePull(bytes: Uint8Array, base = 0): Parsed<DurableV2Response> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    exact(r, DH2Q_RESPONSE_LEN, 'a DH2Q response');
    return { timeoutMs: r.u32(0), flags: r.u32(4) };
  });
}

export function dh2cPush(req: DurableV2Reconnect): Uint8Array {
  const w = new ByteWriter(DH2C_LEN);
  w.set(0, req.fileId.subarray(0, 16));
  w.set(16, guidToBytes(req.createGuid));
  w.u32(32, req.flags);
  return w.bytes;
}

export function dh2cPull(bytes: Uint8Array, base = 0): Parsed<DurableV2Reconnect> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    exact(r, DH2C_LEN, 'a DH2C context');
    return {
      fileId: r.slice(0, 16).slice(),
      createGuid: guidFromBytes(r.slice(16, 16)),
      flags: r.u32(32),
    };
  });
}

/** SMB2_LEASE_* states (MS-SMB2 2.2.13.2.8): an RWH lease is what durability needs from a lease. */
export const LeaseState = { READ: 0x1, HANDLE: 0x2, WRITE: 0x4 } as const;

/**
 * SMB2_CREATE_REQUEST_LEASE_V2 (2.2.13.2.10) and the response of the same layout (2.2.14.2.11):
 * LeaseKey, LeaseState, Flags, LeaseDuration (zero), ParentLeaseKey, Epoch, Reserved.
 */
export interface LeaseV2 {
  leaseKey: Uint8Array;
  leaseState: number;
  flags: number;
  parentLeaseKey: Uint8Array;
  epoch: number;
}

export const LEASE_V2_LEN = 52;

export function leaseV2Push(lease: LeaseV2): Uint8Array {
  const w = new ByteWriter(LEASE_V2_LEN);
  w.set(0, lease.leaseKey.subarray(0, 16));
  w.u32(16, lease.leaseState);
  w.u32(20, lease.flags);
  w.set(32, lease.parentLeaseKey.subarray(0, 16));
  w.u16(48, lease.epoch);
  return w.bytes;
}

export function leaseV2Pull(bytes: Uint8Array, base = 0): Parsed<LeaseV2> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    exact(r, LEASE_V2_LEN, 'a version 2 lease context');
    return {
      leaseKey: r.slice(0, 16).slice(),
      leaseState: r.u32(16),
      flags: r.u32(20),
      parentLeaseKey: r.slice(32, 16).slice(),
      epoch: r.u16(48),
    };
  });
}
