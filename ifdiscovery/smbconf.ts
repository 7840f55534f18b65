import type { LocalAddress } from './enumerate.js';

/**
 * smb.conf `interfaces = …` for a stock smbd: one double-quoted entry per *address* (an interface name
 * would bring every address on it, public IPs included), with the same speed/capability/if_index.
 * smbd announces its list in reverse order of this line, so the line is written reversed to make smbd
 * announce exactly mcc's order.
 */
export function interfaceEntry(a: LocalAddress): string {
  const options = [`speed=${a.speed}`];
  if (a.rss) options.push('capability=RSS');
  if (a.rdma) options.push('capability=RDMA');
  options.push(`if_index=${a.ifIndex}`);
  return `"${a.address};${options.join(',')}"`;
}

export function smbConfInterfacesLine(list: LocalAddress[]): string {
  return `interfaces = ${[...list].reverse().map(interfaceEntry).join(' ')}`;
}

export interface ParsedInterfaceEntry {
  /** An interface name, an address, or an address/prefix, as written. */
  target: string;
  speed?: number;
  rss: boolean;
  rdma: boolean;
  ifIndex?: number;
}

/** Parses an `interfaces` value the way smbd does: whitespace- or comma-separated, quotes allowed. */
export function parseInterfacesLine(value: string): ParsedInterfaceEntry[] {
  const text = value.replace(/^\s*interfaces\s*=\s*/i, '');
  const tokens = text.match(/"[^"]*"|[^\s"]+/g) ?? [];
  return tokens.map((raw) => {
    const token = raw.replace(/^"|"$/g, '');
    const [target, options = ''] = token.split(';', 2) as [string, string?];
    const entry: ParsedInterfaceEntry = { target, rss: false, rdma: false };
    for (const opt of options.split(',').filter(Boolean)) {
      const [k, v = ''] = opt.split('=', 2) as [string, string?];
      if (k === 'speed') entry.speed = Number(v);
      else if (k === 'capability' && v.toUpperCase() === 'RSS') entry.rss = true;
      else if (k === 'capability' && v.toUpperCase() === 'RDMA') entry.rdma = true;
      else if (k === 'if_index') entry.ifIndex = Number(v);
      else
        throw new Error(`interfaces entry ${JSON.stringify(token)}: unknown option ${JSON.stringify(opt)}`);
    }
    return entry;
  });
}
