import { align8, type ByteReader, type ByteWriter } from '../../wire/cursor.js';

/**
 * ctdbd's packet header (ctdb/protocol/protocol.h, struct ctdb_req_header): 32 bytes, host byte order
 * (little-endian here). Every packet is padded to a multiple of 8; `length` includes the padding.
 */
export const CTDB_HEADER_LEN = 32;
export const CTDB_MAGIC = 0x43544442;
export const CTDB_PROTOCOL_VERSION = 1;
/** ctdbd refuses larger packets from clients; so do we, from ctdbd. */
export const CTDB_MAX_PACKET = 64 * 1024 * 1024;

export const CtdbOperation = {
  REQ_MESSAGE: 5,
  REQ_CONTROL: 7,
  REPLY_CONTROL: 8,
} as const;

export const CtdbDestination = {
  CURRENT_NODE: 0xf0000001,
  BROADCAST_ALL: 0xf0000002,
  BROADCAST_ACTIVE: 0xf0000003,
  BROADCAST_CONNECTED: 0xf0000004,
} as const;

export interface CtdbHeader {
  length: number;
  generation: number;
  operation: number;
  destnode: number;
  srcnode: number;
  reqid: number;
}

export function ctdbHeaderPush(h: CtdbHeader, w: ByteWriter): void {
  w.u32(0, h.length);
  w.u32(4, CTDB_MAGIC);
  w.u32(8, CTDB_PROTOCOL_VERSION);
  w.u32(12, h.generation);
  w.u32(16, h.operation);
  w.u32(20, h.destnode);
  w.u32(24, h.srcnode);
  w.u32(28, h.reqid);
}

export function ctdbHeaderPull(r: ByteReader): CtdbHeader {
  r.need(0, CTDB_HEADER_LEN, 'ctdb header');
  const magic = r.u32(4);
  if (magic !== CTDB_MAGIC) r.fail('BAD_HEADER', `ctdb magic 0x${magic.toString(16)} is not 0x43544442`, 4);
  const version = r.u32(8);
  if (version !== CTDB_PROTOCOL_VERSION) r.fail('BAD_HEADER', `ctdb protocol version ${version} is not 1`, 8);
  const length = r.u32(0);
  if (length < CTDB_HEADER_LEN)
    r.fail('BAD_HEADER', `ctdb packet length ${length} is shorter than its header`, 0);
  return {
    length,
    generation: r.u32(12),
    operation: r.u32(16),
    destnode: r.u32(20),
    srcnode: r.u32(24),
    reqid: r.u32(28),
  };
}

/** Padded size of a packet whose unpadded content is `n` bytes. */
export function ctdbPacketLen(n: number): number {
  return align8(n);
}
