import { ByteReader } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';
import { SMB2_HEADER_LEN, Smb2Command, type Smb2Header } from '../../../wire/smb2/header.js';
import {
  commandHeaderPull,
  type FileStat,
  fileStatPull,
  fileStatPush,
  messageWriter,
  structureSizeCheck,
} from './message.js';

/** SMB2 CLOSE request (MS-SMB2 2.2.15) and response (2.2.16). */
export const CLOSE_REQUEST_STRUCTURE_SIZE = 24;
export const CLOSE_RESPONSE_STRUCTURE_SIZE = 60;
/** SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB: the response then carries the file's times and sizes. */
export const CLOSE_FLAG_POSTQUERY_ATTRIB = 0x1;

export interface CloseRequest {
  header: Smb2Header;
  flags: number;
  fileId: Uint8Array;
}

export interface CloseResponse extends FileStat {
  header: Smb2Header;
  flags: number;
}

export function closeRequestLen(): number {
  return SMB2_HEADER_LEN + CLOSE_REQUEST_STRUCTURE_SIZE;
}

export function closeRequestPush(req: CloseRequest): Uint8Array {
  const w = messageWriter(req.header, Smb2Command.CLOSE, CLOSE_REQUEST_STRUCTURE_SIZE);
  const b = SMB2_HEADER_LEN;
  w.u16(b, CLOSE_REQUEST_STRUCTURE_SIZE);
  w.u16(b + 2, req.flags);
  w.set(b + 8, req.fileId.subarray(0, 16));
  return w.bytes;
}

export function closeRequestPull(bytes: Uint8Array, base = 0): Parsed<CloseRequest> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.CLOSE, 'CLOSE', false);
    structureSizeCheck(r, CLOSE_REQUEST_STRUCTURE_SIZE, 'CLOSE');
    const b = SMB2_HEADER_LEN;
    r.need(b, CLOSE_REQUEST_STRUCTURE_SIZE, 'CLOSE request body');
    return { header, flags: r.u16(b + 2), fileId: r.slice(b + 8, 16).slice() };
  });
}

export function closeResponseLen(): number {
  return SMB2_HEADER_LEN + CLOSE_RESPONSE_STRUCTURE_SIZE;
}

export function closeResponsePush(res: CloseResponse): Uint8Array {
  const w = messageWriter(res.header, Smb2Command.CLOSE, CLOSE_RESPONSE_STRUCTURE_SIZE);
  const b = SMB2_HEADER_LEN;
  w.u16(b, CLOSE_RESPONSE_STRUCTURE_SIZE);
  w.u16(b + 2, res.flags);
  fileStatPush(w, b + 8, res);
  return w.bytes;
}

export function closeResponsePull(bytes: Uint8Array, base = 0): Parsed<CloseResponse> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.CLOSE, 'CLOSE', true);
    structureSizeCheck(r, CLOSE_RESPONSE_STRUCTURE_SIZE, 'CLOSE response');
    const b = SMB2_HEADER_LEN;
    r.need(b, CLOSE_RESPONSE_STRUCTURE_SIZE, 'CLOSE response body');
    return {
      header,
      flags: r.u16(b + 2),
      ...fileStatPull(r, b + 8),
    };
  });
}
