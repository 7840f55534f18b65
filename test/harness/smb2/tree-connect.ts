import { ByteReader } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';
import { SMB2_HEADER_LEN, Smb2Command, type Smb2Header } from '../../../wire/smb2/header.js';
import { bufferPull, commandHeaderPull, messageWriter, structureSizeCheck } from './message.js';
import { utf16le } from './ntlmssp.js';

/** SMB2 TREE_CONNECT request (MS-SMB2 2.2.9) and response (2.2.10). The path is `\\server\share`. */
export const TREE_CONNECT_REQUEST_STRUCTURE_SIZE = 9;
export const TREE_CONNECT_RESPONSE_STRUCTURE_SIZE = 16;
const REQUEST_FIXED = 8;
const RESPONSE_FIXED = 16;

export interface TreeConnectRequest {
  header: Smb2Header;
  flags: number;
  path: string;
}

export interface TreeConnectResponse {
  header: Smb2Header;
  shareType: number;
  shareFlags: number;
  capabilities: number;
  maximalAccess: number;
}

export function treeConnectRequestLen(req: Pick<TreeConnectRequest, 'path'>): number {
  return SMB2_HEADER_LEN + REQUEST_FIXED + 2 * req.path.length;
}

export function treeConnectRequestPush(req: TreeConnectRequest): Uint8Array {
  const path = utf16le(req.path);
  const w = messageWriter(req.header, Smb2Command.TREE_CONNECT, REQUEST_FIXED + path.byteLength);
  const b = SMB2_HEADER_LEN;
  w.u16(b, TREE_CONNECT_REQUEST_STRUCTURE_SIZE);
  w.u16(b + 2, req.flags);
  w.u16(b + 4, b + REQUEST_FIXED);
  w.u16(b + 6, path.byteLength);
  w.set(b + REQUEST_FIXED, path);
  return w.bytes;
}

export function treeConnectRequestPull(bytes: Uint8Array, base = 0): Parsed<TreeConnectRequest> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.TREE_CONNECT, 'TREE_CONNECT', false);
    structureSizeCheck(r, TREE_CONNECT_REQUEST_STRUCTURE_SIZE, 'TREE_CONNECT');
    const b = SMB2_HEADER_LEN;
    r.need(b, REQUEST_FIXED, 'TREE_CONNECT request body');
    const length = r.u16(b + 6);
    if (length % 2 !== 0) r.fail('BAD_VALUE', `PathLength ${length} is odd (UTF-16)`, b + 6);
    const raw = bufferPull(r, r.u16(b + 4), length, b + REQUEST_FIXED, 'path', b + 4);
    return { header, flags: r.u16(b + 2), path: Buffer.from(raw).toString('utf16le') };
  });
}

export function treeConnectResponseLen(): number {
  return SMB2_HEADER_LEN + RESPONSE_FIXED;
}

export function treeConnectResponsePush(res: TreeConnectResponse): Uint8Array {
  const w = messageWriter(res.header, Smb2Command.TREE_CONNECT, RESPONSE_FIXED);
  const b = SMB2_HEADER_LEN;
  w.u16(b, TREE_CONNECT_RESPONSE_STRUCTURE_SIZE);
  w.u8(b + 2, res.shareType);
  w.u32(b + 4, res.shareFlags);
  w.u32(b + 8, res.capabilities);
  w.u32(b + 12, res.maximalAccess);
  return w.bytes;
}

export function treeConnectResponsePull(bytes: Uint8Array, base = 0): Parsed<TreeConnectResponse> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.TREE_CONNECT, 'TREE_CONNECT', true);
    structureSizeCheck(r, TREE_CONNECT_RESPONSE_STRUCTURE_SIZE, 'TREE_CONNECT response');
    const b = SMB2_HEADER_LEN;
    r.need(b, RESPONSE_FIXED, 'TREE_CONNECT response body');
    return {
      header,
      shareType: r.u8(b + 2),
      shareFlags: r.u32(b + 4),
      capabilities: r.u32(b + 8),
      maximalAccess: r.u32(b + 12),
    };
  });
}
