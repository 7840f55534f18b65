import { WireError } from '../errors.js';

/**
 * Direct TCP transport (MS-SMB2 2.1): each message is preceded by a zero byte and a 24-bit big-endian
 * length. The frame reader below accepts any chunking of the stream and fails fast on bad input.
 */
export const TRANSPORT_HEADER_LEN = 4;
/** The 24-bit length field allows up to 16 MiB - 1; Samba's default limit is lower, callers choose. */
export const MAX_TRANSPORT_LENGTH = 0xffffff;
export const DEFAULT_MAX_FRAME = 8 * 1024 * 1024 + 1024;

const SMB2_MAGIC = [0xfe, 0x53, 0x4d, 0x42];
const SMB2_TRANSFORM_MAGIC = [0xfd, 0x53, 0x4d, 0x42];
const SMB2_COMPRESSED_MAGIC = [0xfc, 0x53, 0x4d, 0x42];
const SMB1_MAGIC = [0xff, 0x53, 0x4d, 0x42];

export type ProtocolMagic = 'smb2' | 'smb2-transform' | 'smb2-compressed' | 'smb1' | 'unknown';

export function protocolMagic(bytes: Uint8Array, at = 0): ProtocolMagic {
  const is = (m: number[]) => m.every((b, i) => bytes[at + i] === b);
  if (bytes.byteLength - at < 4) return 'unknown';
  if (is(SMB2_MAGIC)) return 'smb2';
  if (is(SMB2_TRANSFORM_MAGIC)) return 'smb2-transform';
  if (is(SMB2_COMPRESSED_MAGIC)) return 'smb2-compressed';
  if (is(SMB1_MAGIC)) return 'smb1';
  return 'unknown';
}

export function transportHeaderLen(): number {
  return TRANSPORT_HEADER_LEN;
}

export function transportHeaderPush(length: number, out: Uint8Array, at = 0): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_TRANSPORT_LENGTH) {
    throw new WireError('OVERSIZED', `transport length ${length} does not fit in 24 bits`, at);
  }
  out[at] = 0;
  out[at + 1] = (length >> 16) & 0xff;
  out[at + 2] = (length >> 8) & 0xff;
  out[at + 3] = length & 0xff;
}

/** Prepends the transport header to one SMB2 message. */
export function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(TRANSPORT_HEADER_LEN + message.byteLength);
  transportHeaderPush(message.byteLength, out);
  out.set(message, TRANSPORT_HEADER_LEN);
  return out;
}

/**
 * Reads the transport header at `at`, returning the payload length. A first byte other than zero is a
 * NetBIOS session packet type (0x81 session request, 0x85 keep-alive), which direct TCP never carries.
 */
export function transportHeaderPull(bytes: Uint8Array, at = 0, base = 0): number {
  if (bytes.byteLength - at < TRANSPORT_HEADER_LEN) {
    throw new WireError('TRUNCATED', 'transport header needs 4 bytes', base + at);
  }
  if (bytes[at] !== 0) {
    throw new WireError(
      'NOT_SMB2',
      `transport header starts with 0x${bytes[at]!.toString(16).padStart(2, '0')}, expected 0x00`,
      base + at,
    );
  }
  return (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

export interface FrameReaderOptions {
  /** Largest accepted payload (excluding the 4-byte header). */
  maxFrame?: number;
  /** Accept SMB2 transform (0xFD) and compression (0xFC) headers as well as plain SMB2. */
  allowTransform?: boolean;
}

/**
 * Incremental reader: push() stream chunks, get back complete SMB2 messages (without the transport
 * header). Once it reports an error it stays failed: the connection must be closed.
 */
export class FrameReader {
  private readonly maxFrame: number;
  private readonly allowTransform: boolean;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /** Stream offset of the first buffered byte, so errors point into the stream. */
  private consumed = 0;
  private failure: WireError | undefined;

  constructor(options: FrameReaderOptions = {}) {
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    this.allowTransform = options.allowTransform ?? true;
    if (!Number.isInteger(this.maxFrame) || this.maxFrame < 4 || this.maxFrame > MAX_TRANSPORT_LENGTH) {
      throw new RangeError(`maxFrame must be an integer in 4..${MAX_TRANSPORT_LENGTH}`);
    }
  }

  get error(): WireError | undefined {
    return this.failure;
  }

  /** Bytes received but not yet returned as a frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): { frames: Uint8Array[]; error?: WireError } {
    if (this.failure) return { frames: [], error: this.failure };
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      const step = this.next();
      if (step === undefined) break;
      if (step instanceof WireError) {
        this.failure = step;
        this.chunks = [];
        this.buffered = 0;
        return { frames, error: step };
      }
      frames.push(step);
    }
    return { frames };
  }

  /** Call at end of stream: leftover bytes are a truncated frame. */
  end(): WireError | undefined {
    if (this.failure) return this.failure;
    if (this.buffered > 0) {
      this.failure = new WireError(
        'TRUNCATED',
        `stream ended inside a frame with ${this.buffered} bytes buffered`,
        this.consumed,
      );
      return this.failure;
    }
    return undefined;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength >= n) return first.subarray(0, n);
    this.coalesce();
    return this.chunks[0]!.subarray(0, n);
  }

  private coalesce(): void {
    if (this.chunks.length <= 1) return;
    const all = new Uint8Array(this.buffered);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    this.chunks = [all];
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.byteLength >= n) {
      out = first.subarray(0, n);
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      this.coalesce();
      const all = this.chunks[0]!;
      out = all.subarray(0, n);
      this.chunks[0] = all.subarray(n);
      if (this.chunks[0].byteLength === 0) this.chunks.shift();
    }
    this.buffered -= n;
    this.consumed += n;
    return out;
  }

  private next(): Uint8Array | WireError | undefined {
    if (this.buffered === 0) return undefined;
    const firstByte = this.chunks[0]![0]!;
    if (firstByte !== 0) {
      return new WireError(
        'NOT_SMB2',
        `transport header starts with 0x${firstByte.toString(16).padStart(2, '0')}, expected 0x00`,
        this.consumed,
      );
    }
    if (this.buffered < TRANSPORT_HEADER_LEN) return undefined;
    const header = this.peek(TRANSPORT_HEADER_LEN);
    const length = (header[1]! << 16) | (header[2]! << 8) | header[3]!;
    if (length > this.maxFrame) {
      return new WireError(
        'OVERSIZED',
        `frame length ${length} exceeds the limit of ${this.maxFrame}`,
        this.consumed,
      );
    }
    if (length < 4) {
      return new WireError(
        'NOT_SMB2',
        `frame length ${length} is too short for an SMB2 protocol id`,
        this.consumed,
      );
    }
    // Judge the protocol id as soon as it has arrived, not only once the whole frame is in.
    if (this.buffered >= TRANSPORT_HEADER_LEN + 4) {
      const magic = protocolMagic(this.peek(TRANSPORT_HEADER_LEN + 4), TRANSPORT_HEADER_LEN);
      const at = this.consumed + TRANSPORT_HEADER_LEN;
      if (magic === 'smb1')
        return new WireError('SMB1', 'SMB1 message (0xFF "SMB"); only SMB2 and later are served', at);
      if (magic === 'unknown')
        return new WireError('NOT_SMB2', 'frame does not start with an SMB2 protocol id', at);
      if (magic !== 'smb2' && !this.allowTransform) {
        return new WireError('NOT_SMB2', `${magic} frame where a plain SMB2 message is required`, at);
      }
    }
    if (this.buffered < TRANSPORT_HEADER_LEN + length) return undefined;
    this.take(TRANSPORT_HEADER_LEN);
    return this.take(length);
  }
}
