import { align8, ByteReader } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';
import { SMB2_HEADER_LEN, Smb2Command, type Smb2Header } from '../../../wire/smb2/header.js';
import {
  type CreateContext,
  createContextsLen,
  createContextsPullFrom,
  createContextsPush,
} from './create-contexts.js';
import {
  bufferPull,
  commandHeaderPull,
  type FileStat,
  fileStatPull,
  fileStatPush,
  messageWriter,
  structureSizeCheck,
} from './message.js';
import { utf16le } from './ntlmssp.js';

/** SMB2 CREATE request (MS-SMB2 2.2.13) and response (2.2.14), with their create-context chains. */
export const CREATE_REQUEST_STRUCTURE_SIZE = 57;
export const CREATE_RESPONSE_STRUCTURE_SIZE = 89;
const REQUEST_FIXED = 56;
const RESPONSE_FIXED = 88;

export const OplockLevel = { NONE: 0x00, II: 0x01, EXCLUSIVE: 0x08, BATCH: 0x09, LEASE: 0xff } as const;

export const CreateDisposition = { SUPERSEDE: 0, OPEN: 1, CREATE: 2, OPEN_IF: 3, OVERWRITE_IF: 5 } as const;

export const FileAccess = {
  READ_DATA: 0x1,
  WRITE_DATA: 0x2,
  READ_ATTRIBUTES: 0x80,
  SYNCHRONIZE: 0x100000,
  GENERIC_READ: 0x80000000,
  GENERIC_WRITE: 0x40000000,
} as const;

export const ShareAccess = { READ: 1, WRITE: 2, DELETE: 4 } as const;

export const FILE_ATTRIBUTE_NORMAL = 0x80;
export const FILE_NON_DIRECTORY_FILE = 0x40;
/** SMB2_IMPERSONATION_IMPERSONATION, what Windows and smbclient send. */
export const IMPERSONATION = 2;

export interface CreateRequest {
  header: Smb2Header;
  oplockLevel: number;
  impersonationLevel: number;
  desiredAccess: number;
  fileAttributes: number;
  shareAccess: number;
  createDisposition: number;
  createOptions: number;
  /** Relative to the share root, backslash-separated, no leading backslash. */
  name: string;
  contexts: CreateContext[];
}

export interface CreateResponse extends FileStat {
  header: Smb2Header;
  oplockLevel: number;
  flags: number;
  createAction: number;
  /** SMB2_FILEID: persistent (8 bytes) then volatile (8 bytes), kept as the wire's 16 bytes. */
  fileId: Uint8Array;
  contexts: CreateContext[];
}

function requestLayout(req: Pick<CreateRequest, 'name' | 'contexts'>) {
  const nameAt = SMB2_HEADER_LEN + REQUEST_FIXED;
  const nameLen = 2 * req.name.length;
  // The Buffer is never empty (StructureSize 57 counts one byte of it), even for the share root.
  const nameEnd = nameAt + Math.max(1, nameLen);
  const contextsAt = req.contexts.length > 0 ? align8(nameEnd) : 0;
  const total = req.contexts.length > 0 ? contextsAt + createContextsLen(req.contexts) : nameEnd;
  return { nameAt, nameLen, contextsAt, total };
}

export function createRequestLen(req: Pick<CreateRequest, 'name' | 'contexts'>): number {
  return requestLayout(req).total;
}

export function createRequestPush(req: CreateRequest): Uint8Array {
  const { nameAt, contextsAt, total } = requestLayout(req);
  const name = utf16le(req.name);
  const w = messageWriter(req.header, Smb2Command.CREATE, total - SMB2_HEADER_LEN);
  const b = SMB2_HEADER_LEN;
  w.u16(b, CREATE_REQUEST_STRUCTURE_SIZE);
  w.u8(b + 3, req.oplockLevel);
  w.u32(b + 4, req.impersonationLevel);
  w.u32(b + 24, req.desiredAccess);
  w.u32(b + 28, req.fileAttributes);
  w.u32(b + 32, req.shareAccess);
  w.u32(b + 36, req.createDisposition);
  w.u32(b + 40, req.createOptions);
  w.u16(b + 44, nameAt);
  w.u16(b + 46, name.byteLength);
  w.set(nameAt, name);
  if (req.contexts.length > 0) {
    const chain = createContextsPush(req.contexts);
    w.u32(b + 48, contextsAt);
    w.u32(b + 52, chain.byteLength);
    w.set(contextsAt, chain);
  }
  return w.bytes;
}

function contextsPull(r: ByteReader, offset: number, length: number, fixedEnd: number, at: number) {
  if (length === 0) return [];
  if (offset < fixedEnd)
    r.fail('BAD_OFFSET', `CreateContextsOffset ${offset} points into the fixed part`, at);
  if (offset % 8 !== 0) r.fail('BAD_OFFSET', `CreateContextsOffset ${offset} is not 8-byte aligned`, at);
  return createContextsPullFrom(r, offset, length);
}

export function createRequestPull(bytes: Uint8Array, base = 0): Parsed<CreateRequest> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.CREATE, 'CREATE', false);
    structureSizeCheck(r, CREATE_REQUEST_STRUCTURE_SIZE, 'CREATE');
    const b = SMB2_HEADER_LEN;
    r.need(b, REQUEST_FIXED, 'CREATE request body');
    const nameLength = r.u16(b + 46, 'NameLength');
    if (nameLength % 2 !== 0) r.fail('BAD_VALUE', `NameLength ${nameLength} is odd (UTF-16)`, b + 46);
    const name = bufferPull(r, r.u16(b + 44), nameLength, b + REQUEST_FIXED, 'name', b + 44);
    return {
      header,
      oplockLevel: r.u8(b + 3),
      impersonationLevel: r.u32(b + 4),
      desiredAccess: r.u32(b + 24),
      fileAttributes: r.u32(b + 28),
      shareAccess: r.u32(b + 32),
      createDisposition: r.u32(b + 36),
      createOptions: r.u32(b + 40),
      name: Buffer.from(name).toString('utf16le'),
      contexts: contextsPull(r, r.u32(b + 48), r.u32(b + 52), b + REQUEST_FIXED, b + 48),
    };
  });
}

function responseLayout(res: Pick<CreateResponse, 'contexts'>) {
  const fixedEnd = SMB2_HEADER_LEN + RESPONSE_FIXED;
  const contextsAt = res.contexts.length > 0 ? fixedEnd : 0;
  const total = fixedEnd + createContextsLen(res.contexts);
  return { contextsAt, total };
}

export function createResponseLen(res: Pick<CreateResponse, 'contexts'>): number {
  return responseLayout(res).total;
}

export function createResponsePush(res: CreateResponse): Uint8Array {
  const { contextsAt, total } = responseLayout(res);
  const w = messageWriter(res.header, Smb2Command.CREATE, total - SMB2_HEADER_LEN);
  const b = SMB2_HEADER_LEN;
  w.u16(b, CREATE_RESPONSE_STRUCTURE_SIZE);
  w.u8(b + 2, res.oplockLevel);
  w.u8(b + 3, res.flags);
  w.u32(b + 4, res.createAction);
  fileStatPush(w, b + 8, res);
  w.set(b + 64, res.fileId.subarray(0, 16));
  if (res.contexts.length > 0) {
    const chain = createContextsPush(res.contexts);
    w.u32(b + 80, contextsAt);
    w.u32(b + 84, chain.byteLength);
    w.set(contextsAt, chain);
  }
  return w.bytes;
}

export function createResponsePull(bytes: Uint8Array, base = 0): Parsed<CreateResponse> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.CREATE, 'CREATE', true);
    structureSizeCheck(r, CREATE_RESPONSE_STRUCTURE_SIZE, 'CREATE response');
    const b = SMB2_HEADER_LEN;
    r.need(b, RESPONSE_FIXED, 'CREATE response body');
    return {
      header,
      oplockLevel: r.u8(b + 2),
      flags: r.u8(b + 3),
      createAction: r.u32(b + 4),
      ...fileStatPull(r, b + 8),
      fileId: r.slice(b + 64, 16).slice(),
      contexts: contextsPull(r, r.u32(b + 80), r.u32(b + 84), b + RESPONSE_FIXED, b + 80),
    };
  });
}
