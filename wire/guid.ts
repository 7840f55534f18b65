import { WireError } from './errors.js';

/**
 * GUIDs on the wire are 16 bytes with the first three fields little-endian (MS-DTYP 2.3.4.2);
 * the text form is the usual 8-4-4-4-12 lowercase hex.
 */
const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function hex(bytes: Uint8Array, from: number, to: number, reverse: boolean): string {
  let out = '';
  if (reverse) {
    for (let i = to - 1; i >= from; i--) out += bytes[i]!.toString(16).padStart(2, '0');
  } else {
    for (let i = from; i < to; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  }
  return out;
}

export function guidFromBytes(bytes: Uint8Array): string {
  if (bytes.byteLength !== 16)
    throw new WireError('BAD_VALUE', `a GUID is 16 bytes, got ${bytes.byteLength}`, 0);
  return `${hex(bytes, 0, 4, true)}-${hex(bytes, 4, 6, true)}-${hex(bytes, 6, 8, true)}-${hex(bytes, 8, 10, false)}-${hex(bytes, 10, 16, false)}`;
}

export function isGuid(text: string): boolean {
  return GUID_TEXT.test(text);
}

export function guidToBytes(text: string): Uint8Array {
  if (!GUID_TEXT.test(text)) throw new WireError('BAD_VALUE', `not a GUID: ${JSON.stringify(text)}`, 0);
  const h = text.replace(/-/g, '');
  const raw = new Uint8Array(16);
  for (let i = 0; i < 16; i++) raw[i] = Number.parseInt(h.slice(i * 2, i * 2 + 2), 16);
  const out = new Uint8Array(16);
  out.set(raw.subarray(0, 4).reverse(), 0);
  out.set(raw.subarray(4, 6).reverse(), 4);
  out.set(raw.subarray(6, 8).reverse(), 6);
  out.set(raw.subarray(8), 8);
  return out;
}
