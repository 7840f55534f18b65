import { WireError } from './errors.js';
import { protocolMagic, TRANSPORT_HEADER_LEN } from './smb2/transport.js';

/**
 * Operators paste bytes cut from captures: raw binary, or hex text with any whitespace (and an optional
 * 0x prefix per token, as tools print). This decides which one it is and returns the bytes.
 */
const HEX_TEXT = /^[\s0-9a-fA-Fx]*$/;

export function looksLikeHexText(input: Uint8Array): boolean {
  if (input.byteLength === 0) return false;
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  return HEX_TEXT.test(text) && /[0-9a-fA-F]/.test(text);
}

export function hexToBytes(text: string): Uint8Array {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  let digits = '';
  for (const token of tokens) digits += token.replace(/^0x/i, '');
  const bad = digits.search(/[^0-9a-fA-F]/);
  if (bad >= 0)
    throw new WireError(
      'BAD_INPUT',
      `hex text has a non-hex character ${JSON.stringify(digits[bad])}`,
      bad >> 1,
    );
  if (digits.length % 2 !== 0)
    throw new WireError(
      'BAD_INPUT',
      `hex text has an odd number of digits (${digits.length})`,
      digits.length >> 1,
    );
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function readBytesInput(input: Uint8Array): Uint8Array {
  if (looksLikeHexText(input)) return hexToBytes(Buffer.from(input).toString('latin1'));
  return input;
}

/**
 * Returns the SMB2 message and its offset in `bytes`, stripping a direct-TCP transport header when the
 * bytes start with one (a zero byte, then an SMB protocol id at offset 4). A length that disagrees with
 * what follows is reported: fewer bytes is a truncated capture, more is a second frame pasted along.
 */
export function stripTransportHeader(bytes: Uint8Array): { message: Uint8Array; offset: number } {
  if (
    bytes.byteLength < TRANSPORT_HEADER_LEN + 4 ||
    bytes[0] !== 0 ||
    protocolMagic(bytes, TRANSPORT_HEADER_LEN) === 'unknown'
  ) {
    return { message: bytes, offset: 0 };
  }
  const length = (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
  const follows = bytes.byteLength - TRANSPORT_HEADER_LEN;
  if (length > follows) {
    throw new WireError(
      'TRUNCATED',
      `transport header says ${length} bytes but only ${follows} follow`,
      bytes.byteLength,
    );
  }
  if (length < follows) {
    throw new WireError(
      'BAD_INPUT',
      `${follows - length} bytes follow the ${length}-byte frame`,
      TRANSPORT_HEADER_LEN + length,
    );
  }
  return { message: bytes.subarray(TRANSPORT_HEADER_LEN), offset: TRANSPORT_HEADER_LEN };
}
