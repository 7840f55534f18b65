import { ByteReader, ByteWriter } from '../wire/cursor.js';
import { type Parsed, parse, WireError } from '../wire/errors.js';

/**
 * The standalone SMB-Direct test protocol (seed plan 2.4): a small echo-like protocol that exercises an
 * RDMA-capable socket without SMB3. Little-endian, bounds-checked, pure. Each message is
 * `u32 opcode | REQ_HEADER {u32 message_id} | body` (replies: opcode | 0x80000000, REP_HEADER
 * {u32 message_id, u32 status}); the transport frames messages with a 4-byte big-endian length, as the
 * smbdirect socket does. REGISTER_REGION and INVALIDATE are ours: they stand in for memory registration.
 */
export const Opcode = {
  ECHO: 1,
  SETUP_LBUF: 2,
  READ_LBUF_TO_DESCS: 3,
  WRITE_DESCS_TO_LBUF: 4,
  REGISTER_REGION: 5,
  INVALIDATE: 6,
} as const;
export const REPLY = 0x80000000;

export const Flags = { SEND_WITH_INV: 0x1 } as const;

export const Status = {
  OK: 0,
  BAD_MESSAGE: 1,
  NO_SUCH_LBUF: 2,
  LBUF_RANGE: 3,
  DESCRIPTOR_OUT_OF_REGION: 4,
  STALE_KEY: 5,
  UNKNOWN_KEY: 6,
  LENGTH_MISMATCH: 7,
  TOO_LARGE: 8,
  MIXED_TRANSPORTS: 9,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

export function statusName(status: number): string {
  return Object.entries(Status).find(([, v]) => v === status)?.[0] ?? `0x${status.toString(16)}`;
}

/** Largest single operation (and region): far above the 1 MiB the benchmarks use. */
export const MAX_LENGTH = 64 * 1024 * 1024;
export const MAX_DESCS = 256;
export const DESCRIPTOR_LEN = 16;

export interface Descriptor {
  iova: bigint;
  rkey: number;
  length: number;
}

export type Request =
  | { op: 'echo'; id: number; factor: number; maxResponse: number; data: Uint8Array }
  | { op: 'setup-lbuf'; id: number; lbuf: number; size: number; nonce: bigint }
  | {
      op: 'read';
      id: number;
      lbuf: number;
      flags: number;
      offset: number;
      length: number;
      descs: Descriptor[];
    }
  | {
      op: 'write';
      id: number;
      lbuf: number;
      flags: number;
      offset: number;
      length: number;
      descs: Descriptor[];
      inline: Uint8Array;
    }
  | { op: 'register'; id: number; rkey: number; size: number }
  | { op: 'invalidate'; id: number; rkey: number };

export type Reply =
  | { op: 'echo'; id: number; status: number; data: Uint8Array }
  | { op: 'setup-lbuf'; id: number; status: number }
  | { op: 'read'; id: number; status: number; nread: number; inline: Uint8Array }
  | { op: 'write'; id: number; status: number; nwritten: number }
  | { op: 'register'; id: number; status: number }
  | { op: 'invalidate'; id: number; status: number };

const OPS: Record<Request['op'], number> = {
  echo: Opcode.ECHO,
  'setup-lbuf': Opcode.SETUP_LBUF,
  read: Opcode.READ_LBUF_TO_DESCS,
  write: Opcode.WRITE_DESCS_TO_LBUF,
  register: Opcode.REGISTER_REGION,
  invalidate: Opcode.INVALIDATE,
};
const BY_CODE = new Map(Object.entries(OPS).map(([k, v]) => [v, k as Request['op']]));

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new WireError('BAD_VALUE', `${what} must be a u32, got ${v}`, 0);
  return v;
}

export function requestPush(r: Request): Uint8Array {
  const head = 8;
  switch (r.op) {
    case 'echo': {
      const w = new ByteWriter(head + 10 + r.data.byteLength);
      w.u32(0, Opcode.ECHO);
      w.u32(4, u32(r.id, 'message_id'));
      w.u16(8, r.factor);
      w.u32(10, r.data.byteLength);
      w.u32(14, u32(r.maxResponse, 'max_response'));
      w.set(18, r.data);
      return w.bytes;
    }
    case 'setup-lbuf': {
      const w = new ByteWriter(head + 16);
      w.u32(0, Opcode.SETUP_LBUF);
      w.u32(4, u32(r.id, 'message_id'));
      w.u32(8, u32(r.lbuf, 'lbuf_idx'));
      w.u32(12, u32(r.size, 'size'));
      w.u64(16, r.nonce);
      return w.bytes;
    }
    case 'read':
    case 'write': {
      const inline = r.op === 'write' ? r.inline : new Uint8Array(0);
      const w = new ByteWriter(head + 20 + r.descs.length * DESCRIPTOR_LEN + inline.byteLength);
      w.u32(0, OPS[r.op]);
      w.u32(4, u32(r.id, 'message_id'));
      w.u32(8, u32(r.lbuf, 'lbuf_idx'));
      w.u32(12, u32(r.flags, 'flags'));
      w.u32(16, u32(r.offset, 'offset'));
      w.u32(20, u32(r.length, 'length'));
      w.u32(24, r.descs.length);
      r.descs.forEach((d, i) => {
        const at = 28 + i * DESCRIPTOR_LEN;
        w.u64(at, d.iova);
        w.u32(at + 8, u32(d.rkey, 'rkey'));
        w.u32(at + 12, u32(d.length, 'descriptor length'));
      });
      w.set(28 + r.descs.length * DESCRIPTOR_LEN, inline);
      return w.bytes;
    }
    case 'register': {
      const w = new ByteWriter(head + 8);
      w.u32(0, Opcode.REGISTER_REGION);
      w.u32(4, u32(r.id, 'message_id'));
      w.u32(8, u32(r.rkey, 'rkey'));
      w.u32(12, u32(r.size, 'size'));
      return w.bytes;
    }
    case 'invalidate': {
      const w = new ByteWriter(head + 4);
      w.u32(0, Opcode.INVALIDATE);
      w.u32(4, u32(r.id, 'message_id'));
      w.u32(8, u32(r.rkey, 'rkey'));
      return w.bytes;
    }
  }
}

export function requestPull(bytes: Uint8Array): Parsed<Request> {
  return parse((): Request => {
    const r = new ByteReader(bytes);
    const code = r.u32(0, 'opcode');
    const op = BY_CODE.get(code);
    if (!op) return r.fail('BAD_COMMAND', `unknown opcode ${code}`, 0);
    const id = r.u32(4, 'message_id');
    switch (op) {
      case 'echo': {
        const len = r.u32(10, 'data_len');
        if (len > MAX_LENGTH) r.fail('OVERSIZED', `echo data_len ${len} exceeds ${MAX_LENGTH}`, 10);
        return {
          op,
          id,
          factor: r.u16(8, 'echo_factor'),
          maxResponse: r.u32(14, 'max_response'),
          data: r.slice(18, len, 'echo data'),
        };
      }
      case 'setup-lbuf':
        return { op, id, lbuf: r.u32(8, 'lbuf_idx'), size: r.u32(12, 'size'), nonce: r.u64(16, 'nonce') };
      case 'read':
      case 'write': {
        const num = r.u32(24, 'num_descs');
        if (num > MAX_DESCS) r.fail('BAD_COUNT', `num_descs ${num} exceeds ${MAX_DESCS}`, 24);
        r.need(28, num * DESCRIPTOR_LEN, `${num} descriptors`);
        const descs: Descriptor[] = [];
        for (let i = 0; i < num; i++) {
          const at = 28 + i * DESCRIPTOR_LEN;
          descs.push({ iova: r.u64(at), rkey: r.u32(at + 8), length: r.u32(at + 12) });
        }
        const base = {
          id,
          lbuf: r.u32(8, 'lbuf_idx'),
          flags: r.u32(12, 'flags'),
          offset: r.u32(16, 'offset'),
          length: r.u32(20, 'length'),
          descs,
        };
        if (op === 'read') return { op, ...base };
        return {
          op,
          ...base,
          inline: r.slice(28 + num * DESCRIPTOR_LEN, r.length - 28 - num * DESCRIPTOR_LEN),
        };
      }
      case 'register':
        return { op, id, rkey: r.u32(8, 'rkey'), size: r.u32(12, 'size') };
      case 'invalidate':
        return { op, id, rkey: r.u32(8, 'rkey') };
    }
  });
}

export function replyPush(r: Reply): Uint8Array {
  const extra =
    r.op === 'echo'
      ? 4 + r.data.byteLength
      : r.op === 'read'
        ? 4 + r.inline.byteLength
        : r.op === 'write'
          ? 4
          : 0;
  const w = new ByteWriter(12 + extra);
  w.u32(0, (OPS[r.op] | REPLY) >>> 0);
  w.u32(4, r.id);
  w.u32(8, r.status);
  if (r.op === 'echo') {
    w.u32(12, r.data.byteLength);
    w.set(16, r.data);
  } else if (r.op === 'read') {
    w.u32(12, r.nread);
    w.set(16, r.inline);
  } else if (r.op === 'write') {
    w.u32(12, r.nwritten);
  }
  return w.bytes;
}

export function replyPull(bytes: Uint8Array): Parsed<Reply> {
  return parse((): Reply => {
    const r = new ByteReader(bytes);
    const code = r.u32(0, 'opcode');
    if (!(code & REPLY)) r.fail('BAD_COMMAND', `opcode 0x${code.toString(16)} is not a reply`, 0);
    const op = BY_CODE.get(code & ~REPLY);
    if (!op) return r.fail('BAD_COMMAND', `unknown reply opcode 0x${code.toString(16)}`, 0);
    const id = r.u32(4, 'message_id');
    const status = r.u32(8, 'status');
    switch (op) {
      case 'echo': {
        const len = r.u32(12, 'data_len');
        return { op, id, status, data: r.slice(16, len, 'echo data') };
      }
      case 'read':
        return { op, id, status, nread: r.u32(12, 'nread'), inline: r.slice(16, r.length - 16) };
      case 'write':
        return { op, id, status, nwritten: r.u32(12, 'nwritten') };
      default:
        return { op, id, status } as Reply;
    }
  });
}

/** The LBUF content the seed specifies: PUSH_UINT64_LE(buf, ofs, nonce ^ ofs) for ofs in steps of 8. */
export function fillLbuf(buf: Uint8Array, nonce: bigint): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const whole = buf.byteLength - (buf.byteLength % 8);
  for (let ofs = 0; ofs < whole; ofs += 8) view.setBigUint64(ofs, nonce ^ BigInt(ofs), true);
  // A size that is not a multiple of 8 ends with the low bytes of the next word.
  if (whole < buf.byteLength) {
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setBigUint64(0, nonce ^ BigInt(whole), true);
    buf.set(tail.subarray(0, buf.byteLength - whole), whole);
  }
}

/** The expected LBUF bytes for [offset, offset+length): for verifying reads byte by byte. */
export function expectedLbuf(nonce: bigint, offset: number, length: number): Uint8Array {
  const start = offset - (offset % 8);
  const full = new Uint8Array(offset - start + length + 8);
  const view = new DataView(full.buffer);
  for (let ofs = 0; ofs + 8 <= full.byteLength; ofs += 8)
    view.setBigUint64(ofs, nonce ^ BigInt(start + ofs), true);
  return full.subarray(offset - start, offset - start + length);
}
