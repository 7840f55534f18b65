import { describe, expect, it } from 'vitest';
import {
  Dialect,
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  interfaceInfoPull,
  interfaceInfoPush,
  ioctlRequestPull,
  ioctlRequestPush,
  NO_FILE_ID,
  negotiateRequestPull,
  negotiateRequestPush,
  stripTransportHeader,
  unwrap,
} from '../../../wire/index.js';
import { referenceBytes, referenceText } from '../../helpers/reference.js';

// Real bytes captured from smbd 4.17 (test/fixtures/samba-4.17, README.md there says how).

describe('reference NETWORK_INTERFACE_INFO from smbd 4.17', () => {
  const bytes = referenceBytes('network_interface_info.standalone.bin');
  const list = unwrap(interfaceInfoPull(bytes));

  it('decodes the five entries tshark shows, in smbd order (reverse of the interfaces line)', () => {
    expect(list.map((e) => [e.ifIndex, e.capability, e.linkSpeed, e.family, e.address])).toEqual([
      [77, 0, 1_000_000_000n, 'ipv4', '127.0.11.1'],
      [77, 0, 1_000_000_000n, 'ipv6', 'fd00:5e::11'],
      [3, 3, 25_000_000_000n, 'ipv4', '127.0.10.1'],
      [1, 1, 10_000_000_000n, 'ipv4', '127.0.0.1'],
      [1, 1, 10_000_000_000n, 'ipv6', '::1'],
    ]);
  });

  it('matches the addresses in the saved tshark decode', () => {
    const text = referenceText('network_interface_info.standalone.tshark.txt');
    const shown = [...text.matchAll(/Socket IPv[46]: (\S+)/g)].map((m) => m[1]);
    expect(list.map((e) => e.address)).toEqual(shown);
  });

  it('re-encodes byte for byte', () => {
    expect(Buffer.from(interfaceInfoPush(list)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('reference NEGOTIATE request from smbclient 4.17', () => {
  const framed = referenceBytes('negotiate_request.hex');
  const { message, offset } = stripTransportHeader(framed);

  it('strips the direct-TCP header', () => {
    expect(offset).toBe(4);
    expect(message.byteLength).toBe(framed.byteLength - 4);
  });

  const req = unwrap(negotiateRequestPull(message, offset));

  it('decodes ClientGuid with the first three fields little-endian, and the dialects', () => {
    expect(req.clientGuid).toBe('2acaa38d-f1d3-40c2-94e8-17bc98f2b571');
    expect(req.dialects).toEqual([
      Dialect.SMB2_02,
      Dialect.SMB2_10,
      Dialect.SMB3_00,
      Dialect.SMB3_02,
      Dialect.SMB3_11,
    ]);
    expect(req.securityMode).toBe(1);
    expect(req.capabilities).toBe(0x7f);
    expect(req.negotiateContexts?.map((c) => c.type)).toEqual([1, 2, 8, 5]);
  });

  it('re-encodes byte for byte', () => {
    expect(Buffer.from(negotiateRequestPush(req)).equals(Buffer.from(message))).toBe(true);
  });
});

describe('reference FSCTL_QUERY_NETWORK_INTERFACE_INFO request', () => {
  const { message, offset } = stripTransportHeader(
    referenceBytes('ioctl_query_network_interface_info_request.hex'),
  );
  const req = unwrap(ioctlRequestPull(message, offset));

  it('decodes the control code, FileId and limits', () => {
    expect(req.ctlCode).toBe(FSCTL_QUERY_NETWORK_INTERFACE_INFO);
    expect(Buffer.from(req.fileId).equals(Buffer.from(NO_FILE_ID))).toBe(true);
    expect(req.input.byteLength).toBe(0);
    expect(req.maxOutputResponse).toBe(65536);
    expect(req.flags).toBe(1);
  });

  it('re-encodes byte for byte', () => {
    expect(Buffer.from(ioctlRequestPush(req)).equals(Buffer.from(message))).toBe(true);
  });
});
