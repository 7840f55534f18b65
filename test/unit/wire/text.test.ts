import { describe, expect, it } from 'vitest';
import {
  canonicalIp,
  formatIpv6,
  guidFromBytes,
  guidToBytes,
  hexToBytes,
  parseIpv6,
  plainIp,
} from '../../../wire/index.js';

describe('IP text', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['FD00:005E:0:0:0:0:0:11', 'fd00:5e::11'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:0:1:0:0:1', '1::1:0:0:1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    ['::7f00:1', '::127.0.0.1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['10.213.0.101', '10.213.0.101'],
  ])('%s is written %s (inet_ntop form, as Node reports socket addresses)', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it('rejects malformed IPv6', () => {
    for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'g::1']) {
      expect(() => parseIpv6(bad), bad).toThrow(/not an IPv6 address/);
    }
  });

  it('formats 16 zero bytes as ::', () => {
    expect(formatIpv6(new Uint8Array(16))).toBe('::');
  });
});

describe('GUID text', () => {
  it('round-trips with the first three fields little-endian', () => {
    const bytes = hexToBytes('8da3ca2ad3f1c24094e817bc98f2b571');
    expect(guidFromBytes(bytes)).toBe('2acaa38d-f1d3-40c2-94e8-17bc98f2b571');
    expect(Buffer.from(guidToBytes('2ACAA38D-F1D3-40C2-94E8-17BC98F2B571')).equals(Buffer.from(bytes))).toBe(
      true,
    );
  });
});

describe('hex input', () => {
  it('accepts whitespace and 0x prefixes, and names a bad digit by byte offset', () => {
    expect(Array.from(hexToBytes(' 0x00 0a\n ff '))).toEqual([0, 10, 255]);
    expect(() => hexToBytes('00 0')).toThrow(/odd number of digits/);
  });
});

describe('plainIp', () => {
  it('names an IPv4-mapped peer by its IPv4 address and leaves other addresses canonical', () => {
    expect(plainIp('::ffff:10.213.0.200')).toBe('10.213.0.200');
    expect(plainIp('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(plainIp('FD00::0011')).toBe('fd00::11');
    expect(plainIp('10.0.0.1')).toBe('10.0.0.1');
  });
});
