import { ByteReader, ByteWriter } from '../../../wire/cursor.js';
import { type Parsed, parse } from '../../../wire/errors.js';

/**
 * NTLMSSP messages (MS-NLMP 2.2.1): NEGOTIATE, CHALLENGE and AUTHENTICATE. Pure encoders/decoders;
 * the NTLMv2 arithmetic lives in ntlm.ts. Strings are UTF-16LE (the client always negotiates UNICODE).
 */
export const NTLMSSP_SIGNATURE = Uint8Array.of(0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00);

export const NtlmFlags = {
  UNICODE: 0x00000001,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  KEY_EXCH: 0x40000000,
  N56: 0x80000000,
} as const;

/** AV_PAIR ids (MS-NLMP 2.2.2.1) the client reads from the CHALLENGE's TargetInfo. */
export const AvId = { EOL: 0, NB_DOMAIN: 2, TIMESTAMP: 7 } as const;

export interface NtlmNegotiate {
  flags: number;
}

export interface NtlmChallenge {
  flags: number;
  targetName: Uint8Array;
  serverChallenge: Uint8Array;
  targetInfo: Uint8Array;
}

export interface NtlmAuthenticate {
  flags: number;
  lmResponse: Uint8Array;
  ntResponse: Uint8Array;
  domain: string;
  user: string;
  workstation: string;
  encryptedSessionKey: Uint8Array;
}

export function utf16le(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf16le'));
}

function fromUtf16le(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le');
}

function signatureCheck(r: ByteReader, type: number): void {
  const sig = r.slice(0, 8, 'NTLMSSP signature');
  if (!sig.every((b, i) => b === NTLMSSP_SIGNATURE[i]))
    r.fail('BAD_HEADER', 'not an NTLMSSP message (signature is not "NTLMSSP\\0")', 0);
  const got = r.u32(8, 'MessageType');
  if (got !== type) r.fail('BAD_VALUE', `NTLMSSP MessageType is ${got}, expected ${type}`, 8);
}

/** A (Len, MaxLen, Offset) field pointing into the message (MS-NLMP 2.2.1: offsets from message start). */
function fieldPull(r: ByteReader, at: number, what: string): Uint8Array {
  const len = r.u16(at, `${what} Len`);
  const offset = r.u32(at + 4, `${what} Offset`);
  if (len === 0) return new Uint8Array(0);
  if (offset < 8) r.fail('BAD_OFFSET', `${what} offset ${offset} points into the signature`, at + 4);
  return r.slice(offset, len, what).slice();
}

function fieldPush(w: ByteWriter, at: number, payloadAt: number, data: Uint8Array): number {
  w.u16(at, data.byteLength);
  w.u16(at + 2, data.byteLength);
  w.u32(at + 4, data.byteLength > 0 ? payloadAt : 0);
  w.set(payloadAt, data);
  return payloadAt + data.byteLength;
}

export const NTLM_NEGOTIATE_LEN = 32;

export function ntlmNegotiateLen(): number {
  return NTLM_NEGOTIATE_LEN;
}

/** NEGOTIATE with no domain or workstation supplied and no Version (the flag is never set). */
export function ntlmNegotiatePush(msg: NtlmNegotiate): Uint8Array {
  const w = new ByteWriter(NTLM_NEGOTIATE_LEN);
  w.set(0, NTLMSSP_SIGNATURE);
  w.u32(8, 1);
  w.u32(12, msg.flags & ~NtlmFlags.VERSION);
  return w.bytes;
}

export function ntlmNegotiatePull(bytes: Uint8Array, base = 0): Parsed<NtlmNegotiate> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    signatureCheck(r, 1);
    r.need(0, NTLM_NEGOTIATE_LEN, 'NTLMSSP NEGOTIATE');
    return { flags: r.u32(12, 'NegotiateFlags') };
  });
}

const CHALLENGE_FIXED = 48;

export function ntlmChallengeLen(msg: NtlmChallenge): number {
  return CHALLENGE_FIXED + msg.targetName.byteLength + msg.targetInfo.byteLength;
}

export function ntlmChallengePush(msg: NtlmChallenge): Uint8Array {
  const w = new ByteWriter(ntlmChallengeLen(msg));
  w.set(0, NTLMSSP_SIGNATURE);
  w.u32(8, 2);
  let payload = fieldPush(w, 12, CHALLENGE_FIXED, msg.targetName);
  w.u32(20, msg.flags & ~NtlmFlags.VERSION);
  w.set(24, msg.serverChallenge.subarray(0, 8));
  payload = fieldPush(w, 40, payload, msg.targetInfo);
  return w.bytes;
}

export function ntlmChallengePull(bytes: Uint8Array, base = 0): Parsed<NtlmChallenge> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    signatureCheck(r, 2);
    r.need(0, CHALLENGE_FIXED, 'NTLMSSP CHALLENGE');
    return {
      flags: r.u32(20, 'NegotiateFlags'),
      targetName: fieldPull(r, 12, 'TargetName'),
      serverChallenge: r.slice(24, 8, 'ServerChallenge').slice(),
      targetInfo: fieldPull(r, 40, 'TargetInfo'),
    };
  });
}

/** Fixed part with Version (8 bytes) and MIC (16 bytes) present, as current Windows clients send it. */
const AUTHENTICATE_FIXED = 88;

function authFields(msg: NtlmAuthenticate): Uint8Array[] {
  return [
    msg.lmResponse,
    msg.ntResponse,
    utf16le(msg.domain),
    utf16le(msg.user),
    utf16le(msg.workstation),
    msg.encryptedSessionKey,
  ];
}

export function ntlmAuthenticateLen(msg: NtlmAuthenticate): number {
  return authFields(msg).reduce((n, f) => n + f.byteLength, AUTHENTICATE_FIXED);
}

export function ntlmAuthenticatePush(msg: NtlmAuthenticate): Uint8Array {
  const w = new ByteWriter(ntlmAuthenticateLen(msg));
  w.set(0, NTLMSSP_SIGNATURE);
  w.u32(8, 3);
  let payload = AUTHENTICATE_FIXED;
  authFields(msg).forEach((field, i) => {
    payload = fieldPush(w, 12 + 8 * i, payload, field);
  });
  // Version stays zero; the MIC stays zero because the client never announces one in MsvAvFlags.
  w.u32(60, msg.flags & ~NtlmFlags.VERSION);
  return w.bytes;
}

export function ntlmAuthenticatePull(bytes: Uint8Array, base = 0): Parsed<NtlmAuthenticate> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    signatureCheck(r, 3);
    r.need(0, 64, 'NTLMSSP AUTHENTICATE');
    const text = (at: number, what: string) => {
      const raw = fieldPull(r, at, what);
      if (raw.byteLength % 2 !== 0) r.fail('BAD_VALUE', `${what} has an odd UTF-16 length`, at);
      return fromUtf16le(raw);
    };
    return {
      lmResponse: fieldPull(r, 12, 'LmChallengeResponse'),
      ntResponse: fieldPull(r, 20, 'NtChallengeResponse'),
      domain: text(28, 'DomainName'),
      user: text(36, 'UserName'),
      workstation: text(44, 'Workstation'),
      encryptedSessionKey: fieldPull(r, 52, 'EncryptedRandomSessionKey'),
      flags: r.u32(60, 'NegotiateFlags'),
    };
  });
}

export interface AvPair {
  id: number;
  value: Uint8Array;
}

/** TargetInfo: AV_PAIRs (id u16, len u16, value) up to MsvAvEOL. A missing EOL is tolerated. */
export function avPairsPull(bytes: Uint8Array, base = 0): Parsed<AvPair[]> {
  return parse(() => {
    const r = new ByteReader(bytes, base);
    const pairs: AvPair[] = [];
    let at = 0;
    while (at < r.length) {
      const id = r.u16(at, 'AvId');
      const len = r.u16(at + 2, 'AvLen');
      if (id === AvId.EOL) break;
      pairs.push({ id, value: r.slice(at + 4, len, `AV_PAIR ${id} value`).slice() });
      at += 4 + len;
    }
    return pairs;
  });
}

export function avPairsPush(pairs: readonly AvPair[]): Uint8Array {
  const len = pairs.reduce((n, p) => n + 4 + p.value.byteLength, 4);
  const w = new ByteWriter(len);
  let at = 0;
  for (const p of pairs) {
    w.u16(at, p.id);
    w.u16(at + 2, p.value.byteLength);
    w.set(at + 4, p.value);
    at += 4 + p.value.byteLength;
  }
  return w.bytes;
}
