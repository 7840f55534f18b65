import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  interfaceInfoPull,
  interfaceInfoPush,
  ioctlResponsePush,
  type NetworkInterfaceInfo,
  NO_FILE_ID,
  negotiateRequestPull,
  requestHeader,
  Smb2Command,
  Smb2Flags,
  stripTransportHeader,
  unwrap,
} from '../../../wire/index.js';
import { referenceBytes } from '../../helpers/reference.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';
import { tsharkDecode } from '../../helpers/tshark.js';
import { arbInterfaceList } from '../../property/arbitraries.js';

const INTERFACE_FIELDS = [
  'smb2.ioctl.function',
  'smb2.ioctl.network_interfaces.next_offset',
  'smb2.ioctl.network_interfaces.index',
  'smb2.ioctl.network_interfaces.capabilities',
  'smb2.ioctl.network_interfaces.link_speed',
  'smb2.windows.sockaddr.family',
  'smb2.windows.sockaddr.in.addr',
  'smb2.windows.sockaddr.in6.addr',
];

function ioctlResponseFor(list: NetworkInterfaceInfo[]): Uint8Array {
  return ioctlResponsePush({
    header: { ...requestHeader(Smb2Command.IOCTL, 4n), flags: Smb2Flags.SERVER_TO_REDIR, credits: 1 },
    ctlCode: FSCTL_QUERY_NETWORK_INTERFACE_INFO,
    fileId: NO_FILE_ID,
    input: new Uint8Array(0),
    output: interfaceInfoPush(list),
    flags: 0,
  });
}

/** What tshark shows, in the shape of our model, so the comparison is one toEqual. */
function asTsharkSees(list: NetworkInterfaceInfo[]) {
  return {
    index: list.map((e) => String(e.ifIndex)),
    capabilities: list.map((e) => `0x${e.capability.toString(16).padStart(8, '0')}`),
    speed: list.map((e) => e.linkSpeed.toString()),
    v4: list.filter((e) => e.family === 'ipv4').map((e) => e.address),
    v6: list.filter((e) => e.family === 'ipv6').map((e) => e.address),
    family: list.map((e) => (e.family === 'ipv4' ? '2' : '23')),
  };
}

function fromTshark(layers: Record<string, string[]>) {
  return {
    index: layers['smb2.ioctl.network_interfaces.index'] ?? [],
    capabilities: layers['smb2.ioctl.network_interfaces.capabilities'] ?? [],
    speed: layers['smb2.ioctl.network_interfaces.link_speed'] ?? [],
    v4: layers['smb2.windows.sockaddr.in.addr'] ?? [],
    v6: layers['smb2.windows.sockaddr.in6.addr'] ?? [],
    family: layers['smb2.windows.sockaddr.family'] ?? [],
  };
}

describePeer(
  'tshark oracle: SMB2 encodings as Wireshark decodes them',
  missingPrograms('tshark', 'text2pcap'),
  () => {
    it('decodes our re-encoding of the smbd 4.17 interface list exactly as the list we encoded', () => {
      const list = unwrap(interfaceInfoPull(referenceBytes('network_interface_info.standalone.bin')));
      const [layers] = tsharkDecode([ioctlResponseFor(list)], INTERFACE_FIELDS, 'fromServer');
      expect(layers?.['smb2.ioctl.function']).toEqual(['0x001401fc']);
      expect(fromTshark(layers!)).toEqual(asTsharkSees(list));
    });

    it('agrees with our encoder on 200 random interface lists', () => {
      // One pcap with many packets keeps this to a single tshark start.
      const lists = fc.sample(arbInterfaceList({ maxLength: 8 }), { numRuns: 200, seed: 20261121 });
      const decoded = tsharkDecode(lists.map(ioctlResponseFor), INTERFACE_FIELDS, 'fromServer');
      expect(decoded).toHaveLength(lists.length);
      lists.forEach((list, i) => {
        expect(fromTshark(decoded[i]!), `list ${i}`).toEqual(asTsharkSees(list));
      });
    });

    it('decodes the reference NEGOTIATE to the ClientGuid and dialects we decode', () => {
      const { message, offset } = stripTransportHeader(referenceBytes('negotiate_request.hex'));
      const ours = unwrap(negotiateRequestPull(message, offset));
      const [layers] = tsharkDecode(
        [message],
        ['smb2.cmd', 'smb2.client_guid', 'smb2.dialect', 'smb2.negotiate_context.type'],
        'toServer',
      );
      expect(layers?.['smb2.cmd']).toEqual([String(Smb2Command.NEGOTIATE)]);
      expect(layers?.['smb2.client_guid']).toEqual([ours.clientGuid]);
      expect(layers?.['smb2.dialect']).toEqual(
        ours.dialects.map((d) => `0x${d.toString(16).padStart(4, '0')}`),
      );
      expect(layers?.['smb2.negotiate_context.type']).toEqual(
        ours.negotiateContexts!.map((c) => `0x${c.type.toString(16).padStart(4, '0')}`),
      );
    });
  },
);
