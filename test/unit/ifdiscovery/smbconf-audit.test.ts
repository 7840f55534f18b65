import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { smbConfInterfacesLine } from '../../../ifdiscovery/smbconf.js';
import { auditSmbdInterfaces } from '../../../ifdiscovery/smbconf-audit.js';

const publicIps = ['10.213.0.101', '10.213.0.102', 'fd00:213::101'];
const kinds = (line: string) => auditSmbdInterfaces(line, publicIps).map((p) => `${p.kind} ${p.entry}`);

describe("audit of smbd's interfaces line against the cluster's public IPs", () => {
  it('accepts what `mcc interfaces --smb-conf` writes: fixed addresses only', () => {
    // As testparm prints it: quotes gone.
    expect(kinds('10.213.0.1;speed=1000000000,if_index=3 fd00:213::1;speed=1000000000,if_index=3')).toEqual(
      [],
    );
  });

  it('flags an empty line: smbd would announce every address, public IPs included', () => {
    expect(kinds('')).toEqual(['empty ']);
  });

  it('flags interface names and patterns: ctdbd adds public IPs to interfaces', () => {
    expect(kinds('eth0 10.213.0.1 bond*')).toEqual(['interface-name eth0', 'interface-name bond*']);
  });

  it('flags a public IP, and a network holding one (prefix or dotted mask), not a network without one', () => {
    expect(
      kinds('10.213.0.101 10.213.0.0/24 10.213.0.0/255.255.255.0 10.214.0.0/16 fd00:213::/64 fd00:214::/64'),
    ).toEqual([
      'public-ip 10.213.0.101',
      'network-holds-public-ip 10.213.0.0/24',
      'network-holds-public-ip 10.213.0.0/255.255.255.0',
      'network-holds-public-ip fd00:213::/64',
    ]);
  });

  it('an unknown option makes the line unreadable, not accepted', () => {
    expect(kinds('10.213.0.1;colour=blue').map((k) => k.split(' ')[0])).toEqual(['unreadable']);
  });

  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));

  it('any text gives problems or none, never a throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.array(ipv4, { maxLength: 5 }), (line, ips) => {
        for (const p of auditSmbdInterfaces(line, ips)) expect(typeof p.detail).toBe('string');
      }),
    );
  });

  it('a line of single addresses is flagged exactly for the ones that are public', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(ipv4, { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (addrs, isPublic) => {
          const pub = addrs.filter((_, i) => isPublic[i]);
          const line = smbConfInterfacesLine(
            addrs.map((address, i) => ({
              interfaceName: `eth${i}`,
              family: 'ipv4' as const,
              address,
              ifIndex: i + 2,
              speed: 1e9,
              rss: false,
              rdma: false,
            })),
          )
            .replace(/^interfaces = /, '')
            .replace(/"/g, '');
          const flagged = auditSmbdInterfaces(line, pub).map((p) => p.entry);
          expect(flagged.sort()).toEqual([...pub].sort());
        },
      ),
    );
  });
});
