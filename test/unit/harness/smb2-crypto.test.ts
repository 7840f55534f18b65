import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { md4 } from '../../harness/smb2/md4.js';
import { authenticateFor, ntHash, ntlmv2Response, ntowfv2 } from '../../harness/smb2/ntlm.js';
import { AvId, avPairsPush, NtlmFlags, utf16le } from '../../harness/smb2/ntlmssp.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('MD4 (RFC 1320, appendix A.5 test suite)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ];
  for (const [input, digest] of suite) {
    it(`MD4(${JSON.stringify(input.length > 20 ? `${input.slice(0, 20)}…` : input)})`, () => {
      expect(hex(md4(ascii(input)))).toBe(digest);
    });
  }

  it('pads correctly around the 56-byte and 64-byte block edges', () => {
    // Inputs of 55, 56, 63, 64 and 65 bytes exercise the one- and two-block padding paths; a
    // digest must differ from its neighbours' and be stable.
    const digests = [55, 56, 63, 64, 65].map((n) => hex(md4(new Uint8Array(n).fill(0x61))));
    expect(new Set(digests).size).toBe(5);
    expect(hex(md4(new Uint8Array(64).fill(0x61)))).toBe(digests[3]);
  });

  it('is 16 bytes for any input and never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (input) => {
        expect(md4(input).byteLength).toBe(16);
      }),
    );
  });
});

describe('NTLMv2 (MS-NLMP 4.2.1 and 4.2.4 examples)', () => {
  const serverChallenge = bytes('0123456789abcdef');
  const clientChallenge = bytes('aaaaaaaaaaaaaaaa');
  // MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL.
  const targetInfo = avPairsPush([
    { id: AvId.NB_DOMAIN, value: utf16le('Domain') },
    { id: 1, value: utf16le('Server') },
  ]);

  it('NT hash of "Password"', () => {
    expect(hex(ntHash('Password'))).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });

  it('NTOWFv2("Password", "User", "Domain")', () => {
    expect(hex(ntowfv2('Password', 'User', 'Domain'))).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('NTProofStr, LMv2 response and session base key', () => {
    expect(hex(targetInfo)).toBe('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000');
    const out = ntlmv2Response({
      responseKey: ntowfv2('Password', 'User', 'Domain'),
      serverChallenge,
      clientChallenge,
      timestamp: 0n,
      targetInfo,
    });
    expect(hex(out.ntResponse.subarray(0, 16))).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(hex(out.lmResponse)).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    expect(hex(out.sessionBaseKey)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    // The blob after NTProofStr: 0x0101, zero reserved, time, client challenge, zeros, AV pairs, zeros.
    expect(hex(out.ntResponse.subarray(16, 44))).toBe(
      `01010000000000000000000000000000${hex(clientChallenge)}00000000`,
    );
  });

  it("uses the server's MsvAvTimestamp when the CHALLENGE carries one", () => {
    const stamp = new Uint8Array(8);
    new DataView(stamp.buffer).setBigUint64(0, 0x01d9_0000_1234_5678n, true);
    const info = avPairsPush([{ id: AvId.TIMESTAMP, value: stamp }]);
    const { message } = authenticateFor(
      {
        flags: NtlmFlags.UNICODE | NtlmFlags.NTLM,
        targetName: new Uint8Array(0),
        serverChallenge,
        targetInfo: info,
      },
      { user: 'u', password: 'p', domain: '' },
      clientChallenge,
    );
    expect(hex(message.ntResponse.subarray(24, 32))).toBe(hex(stamp));
    expect(message.flags & NtlmFlags.KEY_EXCH).toBe(0);
    expect(message.flags & NtlmFlags.SIGN).toBe(0);
  });
});
