import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  ioctlRequestPull,
  negotiateRequestPull,
  stripTransportHeader,
  unwrap,
} from '../../../wire/index.js';
import { hexToBytes } from '../../../wire/input.js';
import { projectRoot, referenceBytes } from '../../helpers/reference.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

// The committed fixtures are only worth what smbd really sends: capture afresh from the installed smbd
// with the fixtures' own script and compare what smb.conf determines.
describePeer(
  'reference fixtures re-captured from the installed smbd',
  firstReason(notRoot(), missingPrograms('smbd', 'smbclient', 'smbtorture', 'tshark', 'smbpasswd')),
  () => {
    let out = '';
    beforeAll(() => {
      out = mkdtempSync(join(tmpdir(), 'mcc-recapture-'));
      execFileSync('bash', [join(projectRoot, 'scripts', 'capture-samba-reference.sh'), out], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 90_000,
      });
    }, 120_000);
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('smbd answers the committed NETWORK_INTERFACE_INFO list byte for byte', () => {
      const fresh = readFileSync(join(out, 'network_interface_info.standalone.bin'));
      expect(fresh.equals(Buffer.from(referenceBytes('network_interface_info.standalone.bin')))).toBe(true);
    });

    it('the fresh NEGOTIATE offers the committed dialects and contexts', () => {
      const pull = (bytes: Uint8Array) => {
        const { message, offset } = stripTransportHeader(bytes);
        return unwrap(negotiateRequestPull(message, offset));
      };
      const fresh = pull(hexToBytes(readFileSync(join(out, 'negotiate_request.hex'), 'latin1')));
      const committed = pull(referenceBytes('negotiate_request.hex'));
      expect(fresh.dialects).toEqual(committed.dialects);
      expect(fresh.capabilities).toBe(committed.capabilities);
      expect(fresh.negotiateContexts?.map((c) => c.type)).toEqual(
        committed.negotiateContexts?.map((c) => c.type),
      );
    });

    it('the fresh FSCTL request asks what the committed one asks', () => {
      const { message, offset } = stripTransportHeader(
        hexToBytes(readFileSync(join(out, 'ioctl_query_network_interface_info_request.hex'), 'latin1')),
      );
      const req = unwrap(ioctlRequestPull(message, offset));
      expect(req.ctlCode).toBe(FSCTL_QUERY_NETWORK_INTERFACE_INFO);
      expect(req.maxOutputResponse).toBe(65536);
    });
  },
);
