import { WireError, type WireErrorCode } from './errors.js';

/**
 * A bounds-checked little-endian reader over a byte view. Offsets are reported relative to `base`
 * so errors point at the byte in the caller's original buffer, not in a subarray.
 */
export class ByteReader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  fail(code: WireErrorCode, message: string, at: number): never {
    throw new WireError(code, message, this.base + at);
  }

  need(at: number, size: number, what: string): void {
    if (at < 0 || size < 0 || at + size > this.bytes.byteLength) {
      this.fail(
        'TRUNCATED',
        `${what} needs ${size} bytes but only ${Math.max(0, this.bytes.byteLength - at)} remain`,
        at,
      );
    }
  }

  u8(at: number, what = 'u8'): number {
    this.need(at, 1, what);
    return this.view.getUint8(at);
  }

  u16(at: number, what = 'u16'): number {
    this.need(at, 2, what);
    return this.view.getUint16(at, true);
  }

  u16be(at: number, what = 'u16'): number {
    this.need(at, 2, what);
    return this.view.getUint16(at, false);
  }

  u32(at: number, what = 'u32'): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, true);
  }

  i32(at: number, what = 'i32'): number {
    this.need(at, 4, what);
    return this.view.getInt32(at, true);
  }

  u64(at: number, what = 'u64'): bigint {
    this.need(at, 8, what);
    return this.view.getBigUint64(at, true);
  }

  slice(at: number, size: number, what = 'bytes'): Uint8Array {
    this.need(at, size, what);
    return this.bytes.subarray(at, at + size);
  }
}

/** A little-endian writer into a buffer of known size (callers compute `*_len` first). */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(at: number, value: number): void {
    this.view.setUint8(at, value);
  }
  u16(at: number, value: number): void {
    this.view.setUint16(at, value, true);
  }
  u16be(at: number, value: number): void {
    this.view.setUint16(at, value, false);
  }
  u32(at: number, value: number): void {
    this.view.setUint32(at, value >>> 0, true);
  }
  i32(at: number, value: number): void {
    this.view.setInt32(at, value, true);
  }
  u64(at: number, value: bigint): void {
    this.view.setBigUint64(at, value, true);
  }
  set(at: number, data: Uint8Array): void {
    this.bytes.set(data, at);
  }
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Accepts integers in range or throws a BAD_VALUE WireError naming the field (used by encoders). */
export function checkUint(value: number, bits: 8 | 16 | 32, what: string): number {
  const max = 2 ** bits - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new WireError('BAD_VALUE', `${what} must be an integer in 0..${max}, got ${value}`, 0);
  }
  return value;
}
