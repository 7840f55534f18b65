import { ByteReader, ByteWriter } from '../cursor.js';
import { type Parsed, parse, WireError } from '../errors.js';
import { formatIpv4, formatIpv6, type IpFamily, parseIp } from '../ip.js';

/**
 * NETWORK_INTERFACE_INFO (MS-SMB2 2.2.32.5): the FSCTL_QUERY_NETWORK_INTERFACE_INFO answer, a chain of
 * 152-byte entries linked by Next (0 on the last). Link speed is a u64 in bits/s, kept as bigint.
 */
const SOCKADDR_STORAGE_LEN = 128;
/** Next, IfIndex, Capability, Reserved (4 each), LinkSpeed (8), then SOCKADDR_STORAGE: 152 bytes. */
export const INTERFACE_ENTRY_LEN = 24 + SOCKADDR_STORAGE_LEN;
export const AF_INET_WIRE = 0x0002;
export const AF_INET6_WIRE = 0x0017;

export const InterfaceCapability = { RSS: 0x1, RDMA: 0x2 } as const;

export interface NetworkInterfaceInfo {
  ifIndex: number;
  /** Bit mask: RSS 0x1, RDMA 0x2; other bits are kept as received. */
  capability: number;
  /** MS-SMB2 calls these 4 bytes Reserved; Wireshark shows them as the RSS queue count. Samba sends 0. */
  rssQueueCount?: number;
  linkSpeed: bigint;
  family: IpFamily;
  address: string;
  port?: number;
  flowInfo?: number;
  scopeId?: number;
}

export function interfaceInfoLen(list: readonly NetworkInterfaceInfo[]): number {
  return list.length * INTERFACE_ENTRY_LEN;
}

function checkU32(value: number | undefined, what: string, index: number): number {
  const v = value ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new WireError(
      'BAD_VALUE',
      `interface ${index}: ${what} must be a u32, got ${value}`,
      index * INTERFACE_ENTRY_LEN,
    );
  }
  return v;
}

export function interfaceInfoPush(list: readonly NetworkInterfaceInfo[]): Uint8Array {
  const w = new ByteWriter(interfaceInfoLen(list));
  list.forEach((entry, i) => {
    const at = i * INTERFACE_ENTRY_LEN;
    w.u32(at, i === list.length - 1 ? 0 : INTERFACE_ENTRY_LEN);
    w.u32(at + 4, checkU32(entry.ifIndex, 'ifIndex', i));
    w.u32(at + 8, checkU32(entry.capability, 'capability', i));
    w.u32(at + 12, checkU32(entry.rssQueueCount, 'rssQueueCount', i));
    if (
      typeof entry.linkSpeed !== 'bigint' ||
      entry.linkSpeed < 0n ||
      entry.linkSpeed > 0xffffffffffffffffn
    ) {
      throw new WireError(
        'BAD_VALUE',
        `interface ${i}: linkSpeed must be a u64, got ${entry.linkSpeed}`,
        at + 16,
      );
    }
    w.u64(at + 16, entry.linkSpeed);
    const sa = at + 24;
    let ip: ReturnType<typeof parseIp>;
    try {
      ip = parseIp(entry.address);
    } catch {
      throw new WireError(
        'BAD_ADDRESS',
        `interface ${i}: not an IP address: ${JSON.stringify(entry.address)}`,
        sa,
      );
    }
    const port = entry.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new WireError('BAD_VALUE', `interface ${i}: port must be a u16, got ${port}`, sa + 2);
    }
    w.u16be(sa + 2, port);
    if (ip.family === 'ipv4') {
      w.u16(sa, AF_INET_WIRE);
      w.set(sa + 4, ip.bytes);
    } else {
      w.u16(sa, AF_INET6_WIRE);
      w.u32(sa + 4, checkU32(entry.flowInfo, 'flowInfo', i));
      w.set(sa + 8, ip.bytes);
      w.u32(sa + 24, checkU32(entry.scopeId, 'scopeId', i));
    }
  });
  return w.bytes;
}

function entryPull(r: ByteReader, at: number, index: number): NetworkInterfaceInfo {
  r.need(at, INTERFACE_ENTRY_LEN, `interface entry ${index}`);
  const sa = at + 24;
  const familyCode = r.u16(sa);
  const port = r.u16be(sa + 2);
  const base = {
    ifIndex: r.u32(at + 4),
    capability: r.u32(at + 8),
    linkSpeed: r.u64(at + 16),
  };
  const extra = (e: NetworkInterfaceInfo): NetworkInterfaceInfo => {
    const q = r.u32(at + 12);
    if (q !== 0) e.rssQueueCount = q;
    if (port !== 0) e.port = port;
    return e;
  };
  if (familyCode === AF_INET_WIRE) {
    return extra({ ...base, family: 'ipv4', address: formatIpv4(r.slice(sa + 4, 4)) });
  }
  if (familyCode === AF_INET6_WIRE) {
    const e = extra({ ...base, family: 'ipv6', address: formatIpv6(r.slice(sa + 8, 16)) });
    const flowInfo = r.u32(sa + 4);
    const scopeId = r.u32(sa + 24);
    if (flowInfo !== 0) e.flowInfo = flowInfo;
    if (scopeId !== 0) e.scopeId = scopeId;
    return e;
  }
  return r.fail(
    'BAD_FAMILY',
    `interface ${index}: address family 0x${familyCode.toString(16)} is neither 0x2 nor 0x17`,
    sa,
  );
}

export function interfaceInfoPullFrom(r: ByteReader): NetworkInterfaceInfo[] {
  const list: NetworkInterfaceInfo[] = [];
  if (r.length === 0) return list;
  let at = 0;
  // Every entry is ≥ 152 bytes and Next only moves forward, so this bound is never the one that stops us.
  const maxEntries = Math.floor(r.length / INTERFACE_ENTRY_LEN) + 1;
  for (let i = 0; i < maxEntries; i++) {
    list.push(entryPull(r, at, i));
    const next = r.u32(at);
    if (next === 0) return list;
    if (next < INTERFACE_ENTRY_LEN) {
      r.fail(
        'BAD_OFFSET',
        `interface ${i}: Next ${next} is shorter than an entry (${INTERFACE_ENTRY_LEN})`,
        at,
      );
    }
    if (at + next >= r.length) {
      r.fail(
        'BAD_OFFSET',
        `interface ${i}: Next ${next} points past the end of the ${r.length}-byte buffer`,
        at,
      );
    }
    at += next;
  }
  return r.fail('BAD_OFFSET', 'interface chain does not end', at);
}

export function interfaceInfoPull(bytes: Uint8Array, base = 0): Parsed<NetworkInterfaceInfo[]> {
  return parse(() => interfaceInfoPullFrom(new ByteReader(bytes, base)));
}

export function capabilityList(capability: number): string[] {
  const out: string[] = [];
  if (capability & InterfaceCapability.RSS) out.push('RSS');
  if (capability & InterfaceCapability.RDMA) out.push('RDMA');
  const other = capability & ~(InterfaceCapability.RSS | InterfaceCapability.RDMA);
  if (other) out.push(`0x${(other >>> 0).toString(16)}`);
  return out;
}
