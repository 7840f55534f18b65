import { type Descriptor, MAX_LENGTH, Status, type StatusCode } from './protocol.js';

/**
 * Registered memory and descriptor checks. A descriptor names {iova = offset in the region, rkey =
 * region key, length}; every check happens before any byte moves, so a bad descriptor is an error
 * status, never an access out of bounds.
 */
export interface Region {
  size: number;
  valid: boolean;
  /** Present when the bytes are reachable here (shared memory, or the client's own buffer). */
  mem?: Uint8Array;
}

export interface Segment {
  region: Region;
  rkey: number;
  offset: number;
  length: number;
}

export type DescCheck = { ok: true; segments: Segment[] } | { ok: false; status: StatusCode; detail: string };

export function checkDescriptors(
  regions: Map<number, Region>,
  descs: Descriptor[],
  length: number,
): DescCheck {
  if (length > MAX_LENGTH)
    return { ok: false, status: Status.TOO_LARGE, detail: `length ${length} exceeds ${MAX_LENGTH}` };
  let total = 0;
  const segments: Segment[] = [];
  let withMem: boolean | undefined;
  for (const d of descs) {
    const region = regions.get(d.rkey);
    if (!region) return { ok: false, status: Status.UNKNOWN_KEY, detail: `rkey ${d.rkey} is not registered` };
    if (!region.valid)
      return { ok: false, status: Status.STALE_KEY, detail: `rkey ${d.rkey} was invalidated` };
    // bigint arithmetic: iova + length cannot wrap.
    if (d.iova + BigInt(d.length) > BigInt(region.size)) {
      return {
        ok: false,
        status: Status.DESCRIPTOR_OUT_OF_REGION,
        detail: `descriptor ${d.iova}+${d.length} is outside rkey ${d.rkey} (${region.size} bytes)`,
      };
    }
    const hasMem = region.mem !== undefined;
    if (withMem !== undefined && withMem !== hasMem)
      return {
        ok: false,
        status: Status.MIXED_TRANSPORTS,
        detail: 'descriptors mix shared and inline regions',
      };
    withMem = hasMem;
    total += d.length;
    segments.push({ region, rkey: d.rkey, offset: Number(d.iova), length: d.length });
  }
  if (total !== length)
    return {
      ok: false,
      status: Status.LENGTH_MISMATCH,
      detail: `descriptors cover ${total} bytes, the request says ${length}`,
    };
  return { ok: true, segments };
}

/** Copies `src` across the segments' memory in order (an RDMA write into the client's buffers). */
export function scatter(segments: Segment[], src: Uint8Array): void {
  let at = 0;
  for (const s of segments) {
    s.region.mem!.set(src.subarray(at, at + s.length), s.offset);
    at += s.length;
  }
}

/** Collects the segments' bytes into `dst` in order (an RDMA read from the client's buffers). */
export function gather(segments: Segment[], dst: Uint8Array): void {
  let at = 0;
  for (const s of segments) {
    dst.set(s.region.mem!.subarray(s.offset, s.offset + s.length), at);
    at += s.length;
  }
}
