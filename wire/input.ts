import { WireError } from './errors.js';
import { protocolMagic, TRANSPORT_HEADER_LEN } from './smb2/transport.js';

/**
 * Operators paste bytes cut from captures: raw binary, or hex text with any whitespace (and an optional
 * 0x prefix per token, as tools print). This decides which one it is and returns the bytes.
 */
const PRINTABLE_TEXT = /^[\t\n\v\f\r\x20-\x7e]*$/;

/**
 * Input that is all printable ASCII is meant as hex text: raw SMB2 bytes never are (a direct-TCP header
 * starts with 0x00, an SMB2 header with 0xFE, an interface entry's Next offset holds zero bytes), so a
 * stray non-hex character is reported where it stands instead of the text being decoded as binary.
 */
export function looksLikeHexText(input: Uint8Array): boolean {
  if (input.byteLength === 0) return false;
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  return PRINTABLE_TEXT.test(text) && /[0-9a-fA-F]/.test(text);
}

export function hexToBytes(text: string): Uint8Array {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  let digits = '';
  for (const token of tokens) digits += token.replace(/^0x/i, '');
  const bad = digits.search(/[^0-9a-fA-F]/);
  if (bad >= 0) {
    const where = nonHexPosition(text);
    throw new WireError(
      'BAD_INPUT',
      `hex text has a non-hex character ${JSON.stringify(digits[bad])} at line ${where.line}, column ${where.column}`,
      bad >> 1,
    );
  }
  if (digits.length % 2 !== 0)
    throw new WireError(
      'BAD_INPUT',
      `hex text has an odd number of digits (${digits.length})`,
      digits.length >> 1,
    );
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

/** Where the first character that is neither a hex digit, whitespace nor part of a 0x prefix stands. */
function nonHexPosition(text: string): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const prefix = c === '0' && /x/i.test(text[i + 1] ?? '') && (i === 0 || /\s/.test(text[i - 1]!));
    if (prefix) {
      i++;
      column += 2;
      continue;
    }
    if (c === '\n') {
      line++;
      column = 1;
      continue;
    }
    if (!/[\s0-9a-fA-F]/.test(c)) break;
    column++;
  }
  return { line, column };
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes to decode from raw or hex input; an empty input is an error, not an empty structure. */
export function readBytesInput(input: Uint8Array): Uint8Array {
  const bytes = looksLikeHexText(input) ? hexToBytes(Buffer.from(input).toString('latin1')) : input;
  if (bytes.byteLength === 0) throw new WireError('TRUNCATED', 'the input holds no bytes to decode', 0);
  return bytes;
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
