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

  /** One stderr line, exit 2, nothing on stdout: how every bad input ends. */
  function refused(args: string[], input?: string | Uint8Array): string {
    const out = runBin('mcc', args, input);
    expect(out.status, out.stdout.toString()).toBe(2);
    expect(out.stdout.toString()).toBe('');
    const err = out.stderr.toString();
    expect(err.trim().split('\n')).toHaveLength(1);
    return err;
  }

  it('an empty input is refused by every decoder, not decoded as an empty list', () => {
    for (const command of ['decode-interfaces', 'decode-negotiate'])
      expect(refused(['wire', command, '-'], '')).toMatch(/no bytes to decode|needs \d+ bytes/);
    expect(refused(['wire', 'decode-interfaces', '-'], '')).toMatch(/no bytes to decode \(at byte 0\)/);
  });

  it('hex text with a stray character is reported as hex text, at the character', () => {
    const hex = Buffer.from(referenceBytes('negotiate_request.hex')).toString('hex');
    const text = `${hex.slice(0, 40)}\n${hex.slice(40, 60)}g${hex.slice(61)}`;
    expect(refused(['wire', 'decode-negotiate', '-'], text)).toMatch(
      /non-hex character "g" at line 2, column 21 \(at byte 30\)/,
    );
  });

  it('encode-interfaces on text that is not JSON: one line with the byte offset', () => {
    expect(refused(['wire', 'encode-interfaces', '-'], 'hello\nworld')).toMatch(
      /- is not JSON: unexpected "h" at byte 0$/m,
    );
    expect(refused(['wire', 'encode-interfaces', '-'], '[{"ifIndex": 1,\n "x" 2}]')).toMatch(
      /unexpected "2" at byte 21 \(Unexpected number\)/,
    );
    expect(refused(['wire', 'encode-interfaces', '-'], '[{"ifIndex": 1,')).toMatch(
      /unexpected end at byte 15/,
    );
  });

  it('encode-interfaces names the entry and the expectation for a bad family', () => {
    const list = [{ ifIndex: 1, linkSpeed: 1, address: '1.2.3.4', family: 'ipx' }];
    for (const json of [list, { interfaces: list }]) {
      const err = refused(['wire', 'encode-interfaces', '-'], JSON.stringify(json));
      expect(err).toMatch(/(JSON: |interfaces\.)0\.family: .*'ipv4' \| 'ipv6', received 'ipx'/);
    }
  });

  it('an unknown option exits 2 with usage', () => {
    const out = runBin('mcc', ['wire', 'decode-interfaces', '--bogus', refBin]);
    expect(out.status).toBe(2);
    expect(out.stderr.toString()).toMatch(/unknown option/);
  });
});
