import { ByteReader, type ByteWriter } from '../cursor.js';
import { type Parsed, parse } from '../errors.js';

/** The 64-byte SMB2 packet header (MS-SMB2 2.2.1), sync and async forms. */
export const SMB2_HEADER_LEN = 64;

export const Smb2Command = {
  NEGOTIATE: 0x0000,
  SESSION_SETUP: 0x0001,
  LOGOFF: 0x0002,
  TREE_CONNECT: 0x0003,
  TREE_DISCONNECT: 0x0004,
  CREATE: 0x0005,
  CLOSE: 0x0006,
  FLUSH: 0x0007,
  READ: 0x0008,
  WRITE: 0x0009,
  LOCK: 0x000a,
  IOCTL: 0x000b,
  CANCEL: 0x000c,
  ECHO: 0x000d,
  QUERY_DIRECTORY: 0x000e,
  CHANGE_NOTIFY: 0x000f,
  QUERY_INFO: 0x0010,
  SET_INFO: 0x0011,
  OPLOCK_BREAK: 0x0012,
} as const;

export const Smb2Flags = {
  SERVER_TO_REDIR: 0x00000001,
  ASYNC_COMMAND: 0x00000002,
  RELATED_OPERATIONS: 0x00000004,
  SIGNED: 0x00000008,
  PRIORITY_MASK: 0x00000070,
  DFS_OPERATIONS: 0x10000000,
  REPLAY_OPERATION: 0x20000000,
} as const;

export interface Smb2Header {
  creditCharge: number;
  /** NT status in responses; ChannelSequence (low 16 bits) + Reserved in SMB 3.x requests. */
  status: number;
  command: number;
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  /** Present when flags has ASYNC_COMMAND. */
  asyncId?: bigint;
  /** Present for sync messages (ProcessId is reserved in SMB2, kept for byte fidelity). */
  processId?: number;
  treeId?: number;
  sessionId: bigint;
  signature: Uint8Array;
}

export function smb2HeaderLen(): number {
  return SMB2_HEADER_LEN;
}

export function smb2HeaderPush(h: Smb2Header, w: ByteWriter, at = 0): void {
  w.set(at, Uint8Array.of(0xfe, 0x53, 0x4d, 0x42));
  w.u16(at + 4, SMB2_HEADER_LEN);
  w.u16(at + 6, h.creditCharge);
  w.u32(at + 8, h.status);
  w.u16(at + 12, h.command);
  w.u16(at + 14, h.credits);
  w.u32(at + 16, h.flags);
  w.u32(at + 20, h.nextCommand);
  w.u64(at + 24, h.messageId);
  if (h.flags & Smb2Flags.ASYNC_COMMAND) {
    w.u64(at + 32, h.asyncId ?? 0n);
  } else {
    w.u32(at + 32, h.processId ?? 0);
    w.u32(at + 36, h.treeId ?? 0);
  }
  w.u64(at + 40, h.sessionId);
  w.set(at + 48, h.signature.subarray(0, 16));
}

export function smb2HeaderPullFrom(r: ByteReader, at = 0): Smb2Header {
  r.need(at, SMB2_HEADER_LEN, 'SMB2 header');
  const magic = r.u32(at);
  if (magic === 0x424d53ff) r.fail('SMB1', 'SMB1 header (0xFF "SMB"); only SMB2 and later are served', at);
  if (magic !== 0x424d53fe) r.fail('NOT_SMB2', `protocol id 0x${magic.toString(16)} is not 0xFE "SMB"`, at);
  const structureSize = r.u16(at + 4);
  if (structureSize !== SMB2_HEADER_LEN) {
    r.fail('BAD_STRUCTURE_SIZE', `SMB2 header StructureSize is ${structureSize}, expected 64`, at + 4);
  }
  const flags = r.u32(at + 16);
  const async = (flags & Smb2Flags.ASYNC_COMMAND) !== 0;
  const header: Smb2Header = {
    creditCharge: r.u16(at + 6),
    status: r.u32(at + 8),
    command: r.u16(at + 12),
    credits: r.u16(at + 14),
    flags,
    nextCommand: r.u32(at + 20),
    messageId: r.u64(at + 24),
    sessionId: r.u64(at + 40),
    signature: r.slice(at + 48, 16).slice(),
  };
  if (async) header.asyncId = r.u64(at + 32);
  else {
    header.processId = r.u32(at + 32);
    header.treeId = r.u32(at + 36);
  }
  return header;
}

export function smb2HeaderPull(bytes: Uint8Array, base = 0): Parsed<Smb2Header> {
  return parse(() => smb2HeaderPullFrom(new ByteReader(bytes, base)));
}

export function isResponse(h: Smb2Header): boolean {
  return (h.flags & Smb2Flags.SERVER_TO_REDIR) !== 0;
}

/** A zeroed request header for `command`, for encoders of whole messages. */
export function requestHeader(command: number, messageId = 0n, extra: Partial<Smb2Header> = {}): Smb2Header {
  return {
    creditCharge: 0,
    status: 0,
    command,
    credits: 1,
    flags: 0,
    nextCommand: 0,
    messageId,
    processId: 0,
    treeId: 0,
    sessionId: 0n,
    signature: new Uint8Array(16),
    ...extra,
  };
}

/** The header of the answer to `request`: same MessageId, server-to-redirector, at least one credit granted. */
export function responseHeaderFor(request: Smb2Header, status = 0): Smb2Header {
  return {
    ...request,
    status,
    credits: Math.max(1, request.credits),
    flags: (request.flags & ~Smb2Flags.ASYNC_COMMAND) | Smb2Flags.SERVER_TO_REDIR,
    nextCommand: 0,
    signature: new Uint8Array(16),
  };
}
