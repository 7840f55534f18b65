import { ByteReader, ByteWriter } from '../../wire/cursor.js';
import { type Parsed, parse, WireError } from '../../wire/errors.js';
import {
  CTDB_HEADER_LEN,
  type CtdbHeader,
  CtdbOperation,
  ctdbHeaderPull,
  ctdbHeaderPush,
  ctdbPacketLen,
} from './header.js';

/** REQ_CONTROL, REPLY_CONTROL and REQ_MESSAGE bodies (ctdb/protocol/protocol_packet.c layouts). */

const REQ_CONTROL_FIXED = 28; // opcode, pad, srvid (8), client_id, flags, datalen
const REPLY_CONTROL_FIXED = 12; // status, datalen, errorlen
const REQ_MESSAGE_FIXED = 12; // srvid (8), datalen

export const CtdbControlFlags = { NOREPLY: 0x1, OPCODE_SPECIFIC: 0xffff0000 } as const;

export interface CtdbReqControl {
  header: Omit<CtdbHeader, 'length' | 'operation'>;
  opcode: number;
  srvid: bigint;
  clientId: number;
  flags: number;
  data: Uint8Array;
}

export interface CtdbReplyControl {
  header: CtdbHeader;
  status: number;
  data: Uint8Array;
  /** ctdbd's error text (not NUL-terminated on the wire); empty when none. */
  error: string;
}

export interface CtdbReqMessage {
  header: Omit<CtdbHeader, 'length' | 'operation'>;
  srvid: bigint;
  data: Uint8Array;
}

export type CtdbPacket =
  | { operation: 'req_control'; packet: CtdbReqControl & { header: CtdbHeader } }
  | { operation: 'reply_control'; packet: CtdbReplyControl }
  | { operation: 'req_message'; packet: CtdbReqMessage & { header: CtdbHeader } }
  | { operation: 'other'; header: CtdbHeader };

export function reqControlLen(c: Pick<CtdbReqControl, 'data'>): number {
  return ctdbPacketLen(CTDB_HEADER_LEN + REQ_CONTROL_FIXED + c.data.byteLength);
}

export function reqControlPush(c: CtdbReqControl): Uint8Array {
  const length = reqControlLen(c);
  const w = new ByteWriter(length);
  ctdbHeaderPush({ ...c.header, length, operation: CtdbOperation.REQ_CONTROL }, w);
  const b = CTDB_HEADER_LEN;
  w.u32(b, c.opcode);
  w.u32(b + 4, 0);
  w.u64(b + 8, c.srvid);
  w.u32(b + 16, c.clientId);
  w.u32(b + 20, c.flags);
  w.u32(b + 24, c.data.byteLength);
  w.set(b + 28, c.data);
  return w.bytes;
}

export function replyControlPush(
  c: Omit<CtdbReplyControl, 'header'> & { header: Omit<CtdbHeader, 'length' | 'operation'> },
): Uint8Array {
  const errorBytes = Buffer.from(c.error, 'utf8');
  const length = ctdbPacketLen(
    CTDB_HEADER_LEN + REPLY_CONTROL_FIXED + c.data.byteLength + errorBytes.byteLength,
  );
  const w = new ByteWriter(length);
  ctdbHeaderPush({ ...c.header, length, operation: CtdbOperation.REPLY_CONTROL }, w);
  const b = CTDB_HEADER_LEN;
  w.i32(b, c.status);
  w.u32(b + 4, c.data.byteLength);
  w.u32(b + 8, errorBytes.byteLength);
  w.set(b + 12, c.data);
  w.set(b + 12 + c.data.byteLength, errorBytes);
  return w.bytes;
}

export function reqMessageLen(m: Pick<CtdbReqMessage, 'data'>): number {
  return ctdbPacketLen(CTDB_HEADER_LEN + REQ_MESSAGE_FIXED + m.data.byteLength);
}

export function reqMessagePush(m: CtdbReqMessage): Uint8Array {
  const length = reqMessageLen(m);
  const w = new ByteWriter(length);
  ctdbHeaderPush({ ...m.header, length, operation: CtdbOperation.REQ_MESSAGE }, w);
  w.u64(CTDB_HEADER_LEN, m.srvid);
  w.u32(CTDB_HEADER_LEN + 8, m.data.byteLength);
  w.set(CTDB_HEADER_LEN + 12, m.data);
  return w.bytes;
}

/** Decodes one complete packet (as framed by CtdbPacketReader). Fields are read by datalen, not length. */
export function ctdbPacketPullFrom(r: ByteReader): CtdbPacket {
  const header = ctdbHeaderPull(r);
  if (header.length > r.length)
    r.fail('TRUNCATED', `ctdb packet says ${header.length} bytes, ${r.length} present`, 0);
  const b = CTDB_HEADER_LEN;
  switch (header.operation) {
    case CtdbOperation.REPLY_CONTROL: {
      const status = r.i32(b, 'REPLY_CONTROL status');
      const datalen = r.u32(b + 4, 'REPLY_CONTROL datalen');
      const errorlen = r.u32(b + 8, 'REPLY_CONTROL errorlen');
      const data = r.slice(b + 12, datalen, 'REPLY_CONTROL data').slice();
      const errorBytes = r.slice(b + 12 + datalen, errorlen, 'REPLY_CONTROL error text');
      // Some ctdbd versions NUL-terminate the text; drop trailing NULs either way.
      const error = Buffer.from(errorBytes).toString('utf8').replace(/\0+$/, '');
      return { operation: 'reply_control', packet: { header, status, data, error } };
    }
    case CtdbOperation.REQ_MESSAGE: {
      const srvid = r.u64(b, 'REQ_MESSAGE srvid');
      const datalen = r.u32(b + 8, 'REQ_MESSAGE datalen');
      const data = r.slice(b + 12, datalen, 'REQ_MESSAGE data').slice();
      return { operation: 'req_message', packet: { header, srvid, data } };
    }
    case CtdbOperation.REQ_CONTROL: {
      const datalen = r.u32(b + 24, 'REQ_CONTROL datalen');
      return {
        operation: 'req_control',
        packet: {
          header,
          opcode: r.u32(b),
          srvid: r.u64(b + 8),
          clientId: r.u32(b + 16),
          flags: r.u32(b + 20),
          data: r.slice(b + 28, datalen, 'REQ_CONTROL data').slice(),
        },
      };
    }
    default:
      return { operation: 'other', header };
  }
}

export function ctdbPacketPull(bytes: Uint8Array): Parsed<CtdbPacket> {
  return parse(() => ctdbPacketPullFrom(new ByteReader(bytes)));
}

/**
 * Frames the ctdbd stream by the header's length field; accepts any chunking. A bad length or magic
 * fails the reader for good: the connection must be dropped and re-established.
 */
export class CtdbPacketReader {
  private buffer: Buffer = Buffer.alloc(0);
  private failure: WireError | undefined;
  private offset = 0;

  push(chunk: Uint8Array): { packets: Uint8Array[]; error?: WireError } {
    if (this.failure) return { packets: [], error: this.failure };
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const packets: Uint8Array[] = [];
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUInt32LE(0);
      const magic = this.buffer.readUInt32LE(4);
      if (magic !== 0x43544442) {
        this.failure = new WireError(
          'BAD_HEADER',
          `ctdb magic 0x${magic.toString(16)} is not 0x43544442`,
          this.offset + 4,
        );
      } else if (length < CTDB_HEADER_LEN || length > 64 * 1024 * 1024) {
        this.failure = new WireError(
          'BAD_HEADER',
          `ctdb packet length ${length} is outside 32..64 MiB`,
          this.offset,
        );
      }
      if (this.failure) {
        this.buffer = Buffer.alloc(0);
        return { packets, error: this.failure };
      }
      if (this.buffer.length < length) break;
      packets.push(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
      this.offset += length;
    }
    return { packets };
  }
}
