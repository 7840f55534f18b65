import { networkInterfaces, type NetworkInterfaceInfo as OsAddress } from 'node:os';
import { rdmaCapableNetifs } from '../native/smbdirect.js';
import { canonicalIp } from '../wire/ip.js';
import type { DiscoveryConfig } from './config.js';
import { type LinkFacts, linkFacts } from './sysfs.js';

/** One local address with what we know about its interface, before public-IP filtering. */
export interface LocalAddress {
  interfaceName: string;
  ifIndex: number;
  family: 'ipv4' | 'ipv6';
  address: string;
  /** bits/s */
  speed: number;
  rss: boolean;
  rdma: boolean;
}

export type AddressSource = () => NodeJS.Dict<OsAddress[]>;
export type FactsSource = (name: string) => LinkFacts;

function isLinkLocal(address: string, family: 'ipv4' | 'ipv6'): boolean {
  return family === 'ipv4' ? address.startsWith('169.254.') : /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * The node's own addresses as the multi-channel list should describe them: up interfaces only, no
 * link-local, loopback only when configured, speed/RSS/RDMA from sysfs unless overridden.
 */
export function enumerateLocalAddresses(
  config: DiscoveryConfig,
  sources: { addresses?: AddressSource; facts?: FactsSource; rdma?: Map<string, unknown> } = {},
): LocalAddress[] {
  const addresses = (sources.addresses ?? networkInterfaces)();
  const facts = sources.facts ?? ((name: string) => linkFacts(name, config.sysfsRoot));
  const rdma = sources.rdma ?? rdmaCapableNetifs(config.sysfsRoot);
  const excluded = new Set(config.excludeAddresses.map(canonicalIp));
  const out: LocalAddress[] = [];
  for (const [name, list] of Object.entries(addresses)) {
    if (!list) continue;
    const override = config.overrides[name] ?? {};
    if (override.include === false) continue;
    if (config.include.length > 0 && !config.include.includes(name)) continue;
    if (config.exclude.includes(name)) continue;
    const f = facts(name);
    if (!f.up) continue;
    if ((f.loopback || list.some((a) => a.internal)) && !config.includeLoopback) continue;
    const ifIndex = override.ifIndex ?? f.ifIndex;
    if (ifIndex === undefined) continue;
    for (const a of list) {
      const family = a.family === 'IPv4' ? 'ipv4' : 'ipv6';
      const address = canonicalIp(a.address);
      if (isLinkLocal(address, family) || excluded.has(address)) continue;
      out.push({
        interfaceName: name,
        ifIndex,
        family,
        address,
        speed: override.speed ?? f.speed ?? config.defaultSpeed,
        rss: override.rss ?? f.rxQueues > 1,
        rdma: override.rdma ?? rdma.has(name),
      });
    }
  }
  // Stable order: by interface index, IPv4 before IPv6, then address.
  return out.sort(
    (x, y) =>
      x.ifIndex - y.ifIndex ||
      (x.family === y.family ? x.address.localeCompare(y.address) : x.family === 'ipv4' ? -1 : 1),
  );
}
