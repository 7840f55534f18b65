import { ipFamily, parseIp } from '../wire/ip.js';
import { parseInterfacesLine } from './smbconf.js';

/**
 * With the smbd backend it is smbd, not mccd, that answers FSCTL_QUERY_NETWORK_INTERFACE_INFO, from its
 * `interfaces =` line. This judges that line against the rule mcc exists for: no CTDB public IP may ever
 * be announced. Pure: the line (as `testparm --parameter-name=interfaces` prints it) and the cluster's
 * public IPs in, problems out.
 */
export type InterfacesProblemKind =
  /** No line: smbd announces every address of the host, public IPs included. */
  | 'empty'
  /** An interface name (or pattern): smbd announces every address on it, and ctdbd adds public IPs there. */
  | 'interface-name'
  /** A single address that is a public IP. */
  | 'public-ip'
  /** A network that holds a public IP: smbd announces every local address in it. */
  | 'network-holds-public-ip'
  /** A line smbd may read but this audit cannot. */
  | 'unreadable';

export interface InterfacesProblem {
  entry: string;
  kind: InterfacesProblemKind;
  detail: string;
}

export function auditSmbdInterfaces(value: string, publicIps: readonly string[]): InterfacesProblem[] {
  let entries: ReturnType<typeof parseInterfacesLine>;
  try {
    entries = parseInterfacesLine(value);
  } catch (error) {
    return [{ entry: value.trim(), kind: 'unreadable', detail: (error as Error).message }];
  }
  if (entries.length === 0)
    return [
      {
        entry: '',
        kind: 'empty',
        detail: 'no interfaces line: smbd announces every address of this host, CTDB public IPs included',
      },
    ];
  const problems: InterfacesProblem[] = [];
  for (const { target } of entries) {
    const [address, prefixText] = target.split('/', 2) as [string, string?];
    if (!ipFamily(address)) {
      problems.push({
        entry: target,
        kind: 'interface-name',
        detail: `"${target}" names an interface: smbd announces every address on it, and ctdbd adds public IPs to interfaces`,
      });
      continue;
    }
    const inside = publicIps.filter((ip) => within(ip, address, prefixText));
    if (inside.length === 0) continue;
    problems.push(
      prefixText === undefined
        ? { entry: target, kind: 'public-ip', detail: `${target} is a CTDB public IP` }
        : {
            entry: target,
            kind: 'network-holds-public-ip',
            detail: `${target} holds CTDB public IP(s) ${inside.join(', ')}: smbd announces every local address in it`,
          },
    );
  }
  return problems;
}

/** Whether `ip` is `address`, or inside `address/prefix` (a prefix smbd also accepts as a dotted mask). */
function within(ip: string, address: string, prefixText: string | undefined): boolean {
  if (ipFamily(ip) !== ipFamily(address)) return false;
  const a = parseIp(ip).bytes;
  const b = parseIp(address).bytes;
  const bits = prefixBits(prefixText, b.length * 8);
  if (bits === undefined) return false;
  for (let i = 0; i < b.length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

function prefixBits(text: string | undefined, max: number): number | undefined {
  if (text === undefined) return max;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= max ? n : undefined;
  }
  if (ipFamily(text) === 'ipv4' && max === 32) {
    const m = parseIp(text).bytes;
    let bits = 0;
    for (const byte of m) for (let b = 7; b >= 0; b--) if (byte & (1 << b)) bits++;
    return bits;
  }
  return undefined;
}
