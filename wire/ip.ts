import { WireError } from './errors.js';

/** Address text ↔ bytes for IPv4 and IPv6, with RFC 5952 canonical IPv6 text. Pure, no DNS. */

export type IpFamily = 'ipv4' | 'ipv6';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function ipFamily(text: string): IpFamily | undefined {
  if (IPV4.test(text)) return 'ipv4';
  try {
    parseIpv6(text);
    return 'ipv6';
  } catch {
    return undefined;
  }
}

export function parseIpv4(text: string): Uint8Array {
  if (!IPV4.test(text)) throw new WireError('BAD_ADDRESS', `not an IPv4 address: ${JSON.stringify(text)}`, 0);
  return Uint8Array.from(text.split('.').map(Number));
}

export function parseIpv6(text: string): Uint8Array {
  const bad = (): never => {
    throw new WireError('BAD_ADDRESS', `not an IPv6 address: ${JSON.stringify(text)}`, 0);
  };
  if (text.length === 0 || text.length > 45 || text.includes('%')) bad();
  let groups: number[] = [];
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const parseSide = (side: string): number[] => {
    if (side === '') return [];
    const parts = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) bad();
        out.push(Number.parseInt(part, 16));
      }
    }
    return out;
  };
  if (halves.length === 2) {
    const head = parseSide(halves[0]!);
    const tail = parseSide(halves[1]!);
    if (head.length + tail.length > 7) bad();
    groups = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    groups = parseSide(text);
    if (groups.length !== 8) bad();
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

export function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  // Same rule as inet_ntop in glibc and libuv (so text equals Node's socket.localAddress): IPv4-compatible
  // (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted quad.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    return `::${bestLen === 5 ? 'ffff:' : ''}${formatIpv4(bytes.subarray(12, 16))}`;
  }
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function parseIp(text: string): { family: IpFamily; bytes: Uint8Array } {
  if (IPV4.test(text)) return { family: 'ipv4', bytes: parseIpv4(text) };
  return { family: 'ipv6', bytes: parseIpv6(text) };
}

/** Canonical text of an address (IPv6 compressed and lowercased), so addresses compare as strings. */
export function canonicalIp(text: string): string {
  const { family, bytes } = parseIp(text);
  return family === 'ipv4' ? formatIpv4(bytes) : formatIpv6(bytes);
}

/**
 * The address a peer really has: dual-stack sockets report IPv4 peers as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), which names the same host as a.b.c.d. Everything else in canonical text.
 */
export function plainIp(text: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return v4 ? v4[1]! : canonicalIp(text);
}
