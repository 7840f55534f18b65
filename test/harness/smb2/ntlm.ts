import { createHmac, randomBytes } from 'node:crypto';
import { md4 } from './md4.js';
import {
  AvId,
  avPairsPull,
  type NtlmAuthenticate,
  type NtlmChallenge,
  NtlmFlags,
  utf16le,
} from './ntlmssp.js';

/**
 * NTLMv2 (MS-NLMP 3.3.2): the response a client computes from the password and the server's
 * CHALLENGE. Kept apart from the message codecs so the arithmetic is tested against the spec's own
 * example (MS-NLMP 4.2.4) without any framing.
 */
export function ntHash(password: string): Uint8Array {
  return md4(utf16le(password));
}

function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return new Uint8Array(h.digest());
}

/** NTOWFv2: HMAC-MD5 keyed with the NT hash over UPPER(user) + domain, both UTF-16LE. */
export function ntowfv2(password: string, user: string, domain: string): Uint8Array {
  return hmacMd5(ntHash(password), utf16le(user.toUpperCase() + domain));
}

export interface Ntlmv2Input {
  responseKey: Uint8Array;
  serverChallenge: Uint8Array;
  clientChallenge: Uint8Array;
  /** FILETIME, 100 ns units since 1601. */
  timestamp: bigint;
  targetInfo: Uint8Array;
}

export interface Ntlmv2Output {
  ntResponse: Uint8Array;
  lmResponse: Uint8Array;
  sessionBaseKey: Uint8Array;
}

export function ntlmv2Response(input: Ntlmv2Input): Ntlmv2Output {
  // temp = RespType 1, HiRespType 1, 6 zero bytes, time, client challenge, 4 zero bytes, AV pairs, 4 zero bytes
  const temp = new Uint8Array(28 + input.targetInfo.byteLength + 4);
  const view = new DataView(temp.buffer);
  temp[0] = 1;
  temp[1] = 1;
  view.setBigUint64(8, input.timestamp, true);
  temp.set(input.clientChallenge.subarray(0, 8), 16);
  temp.set(input.targetInfo, 28);
  const proof = hmacMd5(input.responseKey, input.serverChallenge, temp);
  const ntResponse = new Uint8Array(16 + temp.byteLength);
  ntResponse.set(proof);
  ntResponse.set(temp, 16);
  const lmResponse = new Uint8Array(24);
  lmResponse.set(hmacMd5(input.responseKey, input.serverChallenge, input.clientChallenge));
  lmResponse.set(input.clientChallenge.subarray(0, 8), 16);
  return { ntResponse, lmResponse, sessionBaseKey: hmacMd5(input.responseKey, proof) };
}

/** FILETIME now; used only when the server's TargetInfo carries no MsvAvTimestamp. */
function fileTimeNow(): bigint {
  return (BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n;
}

/** Flags the client asks for: no SIGN, SEAL or KEY_EXCH, because the probe never signs (see client.ts). */
export const CLIENT_NTLM_FLAGS =
  NtlmFlags.UNICODE |
  NtlmFlags.REQUEST_TARGET |
  NtlmFlags.NTLM |
  NtlmFlags.ALWAYS_SIGN |
  NtlmFlags.EXTENDED_SESSIONSECURITY |
  NtlmFlags.TARGET_INFO |
  NtlmFlags.N128 |
  NtlmFlags.N56;

export interface Credentials {
  user: string;
  password: string;
  domain: string;
  workstation?: string;
}

/** The AUTHENTICATE for `challenge`, and the session key it establishes. */
export function authenticateFor(
  challenge: NtlmChallenge,
  creds: Credentials,
  clientChallenge: Uint8Array = new Uint8Array(randomBytes(8)),
): { message: NtlmAuthenticate; sessionBaseKey: Uint8Array } {
  const pairs = avPairsPull(challenge.targetInfo);
  const stamp = pairs.ok ? pairs.value.find((p) => p.id === AvId.TIMESTAMP) : undefined;
  const timestamp =
    stamp && stamp.value.byteLength === 8
      ? new DataView(stamp.value.buffer, stamp.value.byteOffset, 8).getBigUint64(0, true)
      : fileTimeNow();
  const out = ntlmv2Response({
    responseKey: ntowfv2(creds.password, creds.user, creds.domain),
    serverChallenge: challenge.serverChallenge,
    clientChallenge,
    timestamp,
    targetInfo: challenge.targetInfo,
  });
  return {
    message: {
      flags: CLIENT_NTLM_FLAGS & (challenge.flags | NtlmFlags.UNICODE),
      lmResponse: out.lmResponse,
      ntResponse: out.ntResponse,
      domain: creds.domain,
      user: creds.user,
      workstation: creds.workstation ?? 'MCCPROBE',
      encryptedSessionKey: new Uint8Array(0),
    },
    sessionBaseKey: out.sessionBaseKey,
  };
}
