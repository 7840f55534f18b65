import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addon } from './addon.js';

/**
 * Can this kernel give userspace an SMB-Direct socket? Upstream Linux has none today: the 2025-26
 * smbdirect patches are kernel-internal (cifs, ksmbd). We try the candidates a userspace API could use
 * and report each errno, so "unavailable" always comes with the kernel's own reason.
 */
export interface SmbdirectAttempt {
  family: 'AF_INET' | 'AF_INET6';
  protocol: number;
  ok: boolean;
  errno: number;
  code: string;
  message?: string;
}

export interface SmbdirectProbe {
  available: boolean;
  attempts: SmbdirectAttempt[];
  reason: string;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
/**
 * No released kernel header defines IPPROTO_SMBDIRECT. 263 is the next number after IPPROTO_MPTCP (262),
 * where such a protocol would be added; MCC_IPPROTO_SMBDIRECT overrides it for a kernel that defines one.
 */
export const DEFAULT_SMBDIRECT_PROTOCOL = 263;

export function smbdirectProbe(
  protocol = Number(process.env.MCC_IPPROTO_SMBDIRECT ?? DEFAULT_SMBDIRECT_PROTOCOL),
): SmbdirectProbe {
  if (!Number.isInteger(protocol) || protocol <= 0 || protocol > 0xffff) {
    throw new RangeError(`IPPROTO_SMBDIRECT must be an integer in 1..65535, got ${protocol}`);
  }
  const attempts: SmbdirectAttempt[] = [
    { family: 'AF_INET' as const, raw: AF_INET },
    { family: 'AF_INET6' as const, raw: AF_INET6 },
  ].map(({ family, raw }) => ({ family, protocol, ...addon.smbdirectTry(raw, SOCK_STREAM, protocol) }));
  const available = attempts.some((a) => a.ok);
  const reason = available
    ? `socket(AF_INET*, SOCK_STREAM, ${protocol}) succeeded`
    : attempts.map((a) => `${a.family}/SOCK_STREAM/${protocol}: ${a.code} (${a.message ?? ''})`).join('; ');
  return { available, attempts, reason };
}

export interface RdmaPort {
  device: string;
  port: number;
}

/**
 * Network interfaces with an RDMA device behind them, from
 * <root>/class/infiniband/<dev>/ports/<port>/gid_attrs/ndevs/<gid index> (each file names a netdev).
 * `sysfsRoot` lets tests point at a fixture tree; on this kernel (no CONFIG_INFINIBAND) the map is empty.
 */
export function rdmaCapableNetifs(sysfsRoot = '/sys'): Map<string, RdmaPort[]> {
  const result = new Map<string, RdmaPort[]>();
  const base = join(sysfsRoot, 'class', 'infiniband');
  if (!existsSync(base)) return result;
  for (const device of readdirSync(base)) {
    const ports = join(base, device, 'ports');
    if (!existsSync(ports)) continue;
    for (const portName of readdirSync(ports)) {
      const port = Number(portName);
      if (!Number.isInteger(port)) continue;
      const ndevs = join(ports, portName, 'gid_attrs', 'ndevs');
      if (!existsSync(ndevs)) continue;
      for (const index of readdirSync(ndevs)) {
        let netdev: string;
        try {
          netdev = readFileSync(join(ndevs, index), 'utf8').trim();
        } catch {
          continue; // unused GID slots read as EINVAL in real sysfs
        }
        if (!netdev) continue;
        const list = result.get(netdev) ?? [];
        if (!list.some((p) => p.device === device && p.port === port)) list.push({ device, port });
        result.set(netdev, list);
      }
    }
  }
  return result;
}
