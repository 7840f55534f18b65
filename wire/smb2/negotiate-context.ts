import { align8, type ByteReader, type ByteWriter } from '../cursor.js';

/** SMB 3.1.1 negotiate contexts (MS-SMB2 2.2.3.1): 8-byte header + data, each starting 8-aligned. */
export const NegotiateContextType = {
  PREAUTH_INTEGRITY_CAPABILITIES: 0x0001,
  ENCRYPTION_CAPABILITIES: 0x0002,
  COMPRESSION_CAPABILITIES: 0x0003,
  NETNAME_NEGOTIATE_CONTEXT_ID: 0x0005,
  TRANSPORT_CAPABILITIES: 0x0006,
  RDMA_TRANSFORM_CAPABILITIES: 0x0007,
  SIGNING_CAPABILITIES: 0x0008,
} as const;

const CONTEXT_NAMES = new Map<number, string>(Object.entries(NegotiateContextType).map(([k, v]) => [v, k]));

export function negotiateContextName(type: number): string {
  return CONTEXT_NAMES.get(type) ?? `UNKNOWN_0x${type.toString(16).padStart(4, '0')}`;
}

export interface NegotiateContext {
  type: number;
  data: Uint8Array;
  /** The 4 reserved bytes, kept only so that decode → encode reproduces odd input exactly. */
  reserved?: number;
}

/** Bytes from the first context's start to the end of the last (no padding after the last one). */
export function negotiateContextsLen(contexts: readonly NegotiateContext[]): number {
  let len = 0;
  contexts.forEach((c, i) => {
    len += 8 + c.data.byteLength;
    if (i < contexts.length - 1) len = align8(len);
  });
  return len;
}

/** Writes the contexts at `at`, which must be 8-aligned relative to the SMB2 header. */
export function negotiateContextsPush(
  contexts: readonly NegotiateContext[],
  w: ByteWriter,
  at: number,
): number {
  let pos = at;
  contexts.forEach((c, i) => {
    w.u16(pos, c.type);
    w.u16(pos + 2, c.data.byteLength);
    w.u32(pos + 4, c.reserved ?? 0);
    w.set(pos + 8, c.data);
    pos += 8 + c.data.byteLength;
    if (i < contexts.length - 1) pos = at + align8(pos - at);
  });
  return pos;
}

/** Reads `count` contexts starting at `at` (offsets are relative to the SMB2 header start). */
export function negotiateContextsPull(r: ByteReader, at: number, count: number): NegotiateContext[] {
  if (at % 8 !== 0) r.fail('BAD_OFFSET', `NegotiateContextOffset ${at} is not 8-byte aligned`, at);
  // Each context needs at least 8 bytes: a count larger than the buffer allows is malformed up front.
  if (count * 8 > r.length - at) {
    r.fail(
      'BAD_COUNT',
      `NegotiateContextCount ${count} cannot fit in ${Math.max(0, r.length - at)} bytes`,
      at,
    );
  }
  const contexts: NegotiateContext[] = [];
  let pos = at;
  for (let i = 0; i < count; i++) {
    if (i > 0) pos = align8(pos);
    const type = r.u16(pos, `negotiate context ${i} type`);
    const length = r.u16(pos + 2, `negotiate context ${i} length`);
    const reserved = r.u32(pos + 4, `negotiate context ${i} reserved`);
    const data = r.slice(pos + 8, length, `negotiate context ${i} data`).slice();
    contexts.push(reserved === 0 ? { type, data } : { type, data, reserved });
    pos += 8 + length;
  }
  return contexts;
}
