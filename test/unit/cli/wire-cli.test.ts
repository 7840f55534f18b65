import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  frame,
  ioctlResponsePush,
  NO_FILE_ID,
  requestHeader,
  Smb2Command,
  Smb2Flags,
} from '../../../wire/index.js';
import { runBin } from '../../helpers/cli.js';
import { referenceBytes, referenceDir } from '../../helpers/reference.js';

const refBin = join(referenceDir, 'network_interface_info.standalone.bin');

describe('mcc wire', () => {
  it('decode-interfaces | encode-interfaces --raw reproduces the smbd 4.17 buffer byte for byte', () => {
    const decoded = runBin('mcc', ['wire', 'decode-interfaces', refBin]);
    expect(decoded.status, decoded.stderr.toString()).toBe(0);
    const list = JSON.parse(decoded.stdout.toString());
    expect(list[2]).toEqual({
      ifIndex: 3,
      capabilities: ['RSS', 'RDMA'],
      linkSpeed: 25e9,
      family: 'ipv4',
      address: '127.0.10.1',
    });
    const encoded = runBin('mcc', ['wire', 'encode-interfaces', '--raw', '-'], decoded.stdout);
    expect(encoded.status, encoded.stderr.toString()).toBe(0);
    expect(encoded.stdout.equals(Buffer.from(referenceBytes('network_interface_info.standalone.bin')))).toBe(
      true,
    );
  });

  it('decode-interfaces accepts a whole framed IOCTL response as hex text', () => {
    const pdu = frame(
      ioctlResponsePush({
        header: { ...requestHeader(Smb2Command.IOCTL, 9n), flags: Smb2Flags.SERVER_TO_REDIR },
        ctlCode: FSCTL_QUERY_NETWORK_INTERFACE_INFO,
        fileId: NO_FILE_ID,
        input: new Uint8Array(0),
        output: referenceBytes('network_interface_info.standalone.bin'),
        flags: 0,
      }),
    );
    const hex = Buffer.from(pdu)
      .toString('hex')
      .replace(/(.{32})/g, '$1\n');
    const out = runBin('mcc', ['wire', 'decode-interfaces', '-'], hex);
    expect(out.status, out.stderr.toString()).toBe(0);
    expect(JSON.parse(out.stdout.toString())).toHaveLength(5);
  });

  it('decode-negotiate prints the ClientGuid and dialect names', () => {
    const out = runBin('mcc', ['wire', 'decode-negotiate', join(referenceDir, 'negotiate_request.hex')]);
    expect(out.status, out.stderr.toString()).toBe(0);
    const json = JSON.parse(out.stdout.toString());
    expect(json.clientGuid).toBe('2acaa38d-f1d3-40c2-94e8-17bc98f2b571');
    expect(json.dialects.map((d: { name: string }) => d.name)).toEqual([
      '2.0.2',
      '2.1',
      '3.0',
      '3.0.2',
      '3.1.1',
    ]);
    expect(json.negotiateContexts.map((c: { name: string }) => c.name)).toContain(
      'PREAUTH_INTEGRITY_CAPABILITIES',
    );
  });

  it('bad bytes: one line on stderr naming the problem and the byte offset, exit 2', () => {
    const bytes = Buffer.from(referenceBytes('network_interface_info.standalone.bin'));
    bytes.writeUInt16LE(0x1e, 152 * 3 + 24); // family of entry 3
    const out = runBin('mcc', ['wire', 'decode-interfaces', '-'], bytes);
    expect(out.status).toBe(2);
    expect(out.stdout.toString()).toBe('');
    const err = out.stderr.toString();
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/interface 3: address family 0x1e .* \(at byte 480\)/);
  });

  it('a truncated NEGOTIATE names what was cut, counted from the start of the input', () => {
    const bytes = referenceBytes('negotiate_request.hex').subarray(0, 100);
    const out = runBin('mcc', ['wire', 'decode-negotiate', '-'], bytes);
    expect(out.status).toBe(2);
    expect(out.stderr.toString()).toMatch(/transport header says 226 bytes but only 96 follow/);
    expect(out.stderr.toString()).toMatch(/at byte \d+/);
  });

  it('bad JSON for encode-interfaces names the key and the expectation', () => {
    const out = runBin(
      'mcc',
      ['wire', 'encode-interfaces', '-'],
      JSON.stringify([{ ifIndex: -1, linkSpeed: 1, address: '1.2.3.4' }]),
    );
    expect(out.status).toBe(2);
    expect(out.stderr.toString()).toMatch(/0\.ifIndex/);
  });

  it('an unknown option exits 2 with usage', () => {
    const out = runBin('mcc', ['wire', 'decode-interfaces', '--bogus', refBin]);
    expect(out.status).toBe(2);
    expect(out.stderr.toString()).toMatch(/unknown option/);
  });
});
