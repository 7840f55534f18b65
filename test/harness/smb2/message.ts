import { ByteReader, ByteWriter } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';
import {
  SMB2_HEADER_LEN,
  Smb2Flags,
  type Smb2Header,
  smb2HeaderPullFrom,
  smb2HeaderPush,
} from '../../../wire/smb2/header.js';

/**
 * What every SMB2 message codec of the test client shares: the header check, the fixed body size, and
 * the ERROR response (MS-SMB2 2.2.2) a server sends instead of a command's body when it fails one.
 */
export function commandHeaderPull(
  r: ByteReader,
  command: number,
  name: string,
  response: boolean,
): Smb2Header {
  const header = smb2HeaderPullFrom(r, 0);
  if (header.command !== command)
    r.fail('BAD_COMMAND', `SMB2 command 0x${header.command.toString(16)} is not ${name}`, 12);
  if (((header.flags & Smb2Flags.SERVER_TO_REDIR) !== 0) !== response)
    r.fail('BAD_COMMAND', response ? `not a ${name} response` : `not a ${name} request`, 16);
  return header;
}

export function structureSizeCheck(r: ByteReader, expected: number, name: string): void {
  const size = r.u16(SMB2_HEADER_LEN, `${name} StructureSize`);
  if (size !== expected)
    r.fail('BAD_STRUCTURE_SIZE', `${name} StructureSize is ${size}, expected ${expected}`, SMB2_HEADER_LEN);
}

/** A message with the header and a body of `bodyLen` bytes; the caller fills the body. */
export function messageWriter(header: Smb2Header, command: number, bodyLen: number): ByteWriter {
  const w = new ByteWriter(SMB2_HEADER_LEN + bodyLen);
  smb2HeaderPush({ ...header, command }, w);
  return w;
}

/**
 * A file's times, sizes and attributes as the CREATE and CLOSE responses both carry them, at the same
 * body offsets 8-59 (MS-SMB2 2.2.14, 2.2.16).
 */
export interface FileStat {
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  changeTime: bigint;
  allocationSize: bigint;
  endOfFile: bigint;
  fileAttributes: number;
}

/** Writes `s` at `at` (the response body's offset 8). */
export function fileStatPush(w: ByteWriter, at: number, s: FileStat): void {
  w.u64(at, s.creationTime);
  w.u64(at + 8, s.lastAccessTime);
  w.u64(at + 16, s.lastWriteTime);
  w.u64(at + 24, s.changeTime);
  w.u64(at + 32, s.allocationSize);
  w.u64(at + 40, s.endOfFile);
  w.u32(at + 48, s.fileAttributes);
}

export function fileStatPull(r: ByteReader, at: number): FileStat {
  return {
    creationTime: r.u64(at),
    lastAccessTime: r.u64(at + 8),
    lastWriteTime: r.u64(at + 16),
    changeTime: r.u64(at + 24),
    allocationSize: r.u64(at + 32),
    endOfFile: r.u64(at + 40),
    fileAttributes: r.u32(at + 48),
  };
}

/** Offset/length of a buffer inside a message (offsets count from the SMB2 header start). */
export function bufferPull(
  r: ByteReader,
  offset: number,
  length: number,
  minOffset: number,
  what: string,
  at: number,
): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  if (offset < minOffset)
    r.fail('BAD_OFFSET', `${what} offset ${offset} points into the fixed part (ends at ${minOffset})`, at);
  return r.slice(offset, length, what).slice();
}

export interface ErrorResponse {
  header: Smb2Header;
  errorContextCount: number;
  errorData: Uint8Array;
}

export const ERROR_RESPONSE_STRUCTURE_SIZE = 9;

export function errorResponseLen(res: Pick<ErrorResponse, 'errorData'>): number {
  return SMB2_HEADER_LEN + 8 + Math.max(1, res.errorData.byteLength);
}

export function errorResponsePush(res: ErrorResponse): Uint8Array {
  const w = new ByteWriter(errorResponseLen(res));
  smb2HeaderPush(res.header, w);
  const b = SMB2_HEADER_LEN;
  w.u16(b, ERROR_RESPONSE_STRUCTURE_SIZE);
  w.u8(b + 2, res.errorContextCount);
  w.u32(b + 4, res.errorData.byteLength);
  w.set(b + 8, res.errorData);
  return w.bytes;
}

/** Any command's error response. ByteCount may claim more than arrived: that is TRUNCATED. */
export function errorResponsePull(bytes: Uint8Array, base = 0): Parsed<ErrorResponse> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = smb2HeaderPullFrom(r, 0);
    if ((header.flags & Smb2Flags.SERVER_TO_REDIR) === 0) r.fail('BAD_COMMAND', 'not a response', 16);
    structureSizeCheck(r, ERROR_RESPONSE_STRUCTURE_SIZE, 'ERROR');
    const errorContextCount = r.u8(SMB2_HEADER_LEN + 2, 'ErrorContextCount');
    const byteCount = r.u32(SMB2_HEADER_LEN + 4, 'ByteCount');
    const errorData = r.slice(SMB2_HEADER_LEN + 8, byteCount, 'ErrorData').slice();
    return { header, errorContextCount, errorData };
  });
}
