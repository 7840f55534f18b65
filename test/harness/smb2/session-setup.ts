import { ByteReader } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';
import { SMB2_HEADER_LEN, Smb2Command, type Smb2Header } from '../../../wire/smb2/header.js';
import { bufferPull, commandHeaderPull, messageWriter, structureSizeCheck } from './message.js';

/** SMB2 SESSION_SETUP request (MS-SMB2 2.2.5) and response (2.2.6); the buffer carries the GSS token. */
export const SESSION_SETUP_REQUEST_STRUCTURE_SIZE = 25;
export const SESSION_SETUP_RESPONSE_STRUCTURE_SIZE = 9;
const REQUEST_FIXED = 24;
const RESPONSE_FIXED = 8;

export const SessionFlags = { IS_GUEST: 0x1, IS_NULL: 0x2, ENCRYPT_DATA: 0x4 } as const;

export interface SessionSetupRequest {
  header: Smb2Header;
  /** SMB2_SESSION_FLAG_BINDING (0x01) for a channel bind; 0 for a new session. */
  flags: number;
  securityMode: number;
  capabilities: number;
  previousSessionId: bigint;
  securityBuffer: Uint8Array;
}

export interface SessionSetupResponse {
  header: Smb2Header;
  sessionFlags: number;
  securityBuffer: Uint8Array;
}

export function sessionSetupRequestLen(req: Pick<SessionSetupRequest, 'securityBuffer'>): number {
  return SMB2_HEADER_LEN + REQUEST_FIXED + req.securityBuffer.byteLength;
}

export function sessionSetupRequestPush(req: SessionSetupRequest): Uint8Array {
  const w = messageWriter(
    req.header,
    Smb2Command.SESSION_SETUP,
    REQUEST_FIXED + req.securityBuffer.byteLength,
  );
  const b = SMB2_HEADER_LEN;
  w.u16(b, SESSION_SETUP_REQUEST_STRUCTURE_SIZE);
  w.u8(b + 2, req.flags);
  w.u8(b + 3, req.securityMode);
  w.u32(b + 4, req.capabilities);
  w.u32(b + 8, 0);
  w.u16(b + 12, b + REQUEST_FIXED);
  w.u16(b + 14, req.securityBuffer.byteLength);
  w.u64(b + 16, req.previousSessionId);
  w.set(b + REQUEST_FIXED, req.securityBuffer);
  return w.bytes;
}

export function sessionSetupRequestPull(bytes: Uint8Array, base = 0): Parsed<SessionSetupRequest> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.SESSION_SETUP, 'SESSION_SETUP', false);
    structureSizeCheck(r, SESSION_SETUP_REQUEST_STRUCTURE_SIZE, 'SESSION_SETUP');
    const b = SMB2_HEADER_LEN;
    r.need(b, REQUEST_FIXED, 'SESSION_SETUP request body');
    return {
      header,
      flags: r.u8(b + 2),
      securityMode: r.u8(b + 3),
      capabilities: r.u32(b + 4),
      previousSessionId: r.u64(b + 16),
      securityBuffer: bufferPull(
        r,
        r.u16(b + 12),
        r.u16(b + 14),
        b + REQUEST_FIXED,
        'security buffer',
        b + 12,
      ),
    };
  });
}

export function sessionSetupResponseLen(res: Pick<SessionSetupResponse, 'securityBuffer'>): number {
  return SMB2_HEADER_LEN + RESPONSE_FIXED + res.securityBuffer.byteLength;
}

export function sessionSetupResponsePush(res: SessionSetupResponse): Uint8Array {
  const w = messageWriter(
    res.header,
    Smb2Command.SESSION_SETUP,
    RESPONSE_FIXED + res.securityBuffer.byteLength,
  );
  const b = SMB2_HEADER_LEN;
  w.u16(b, SESSION_SETUP_RESPONSE_STRUCTURE_SIZE);
  w.u16(b + 2, res.sessionFlags);
  w.u16(b + 4, res.securityBuffer.byteLength > 0 ? b + RESPONSE_FIXED : 0);
  w.u16(b + 6, res.securityBuffer.byteLength);
  w.set(b + RESPONSE_FIXED, res.securityBuffer);
  return w.bytes;
}

/** Also accepts the MORE_PROCESSING_REQUIRED answer, which carries the CHALLENGE in this body shape. */
export function sessionSetupResponsePull(bytes: Uint8Array, base = 0): Parsed<SessionSetupResponse> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const header = commandHeaderPull(r, Smb2Command.SESSION_SETUP, 'SESSION_SETUP', true);
    structureSizeCheck(r, SESSION_SETUP_RESPONSE_STRUCTURE_SIZE, 'SESSION_SETUP response');
    const b = SMB2_HEADER_LEN;
    r.need(b, RESPONSE_FIXED, 'SESSION_SETUP response body');
    return {
      header,
      sessionFlags: r.u16(b + 2),
      securityBuffer: bufferPull(r, r.u16(b + 4), r.u16(b + 6), b + RESPONSE_FIXED, 'security buffer', b + 4),
    };
  });
}
