import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What /sys/class/net says about one interface. Every read takes the root so tests use fixture trees. */
export interface LinkFacts {
  ifIndex: number | undefined;
  /** bits/s; undefined when unknown (-1, unreadable, or absent as on many virtual links). */
  speed: number | undefined;
  up: boolean;
  rxQueues: number;
  loopback: boolean;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

function read(root: string, name: string, file: string): string | undefined {
  try {
    return readFileSync(join(root, 'class', 'net', name, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function linkFacts(name: string, sysfsRoot = '/sys'): LinkFacts {
  const ifIndex = Number(read(sysfsRoot, name, 'ifindex'));
  const mbps = Number(read(sysfsRoot, name, 'speed'));
  const flags = Number.parseInt(read(sysfsRoot, name, 'flags') ?? '0', 16);
  const operstate = read(sysfsRoot, name, 'operstate');
  const queuesDir = join(sysfsRoot, 'class', 'net', name, 'queues');
  const rxQueues = existsSync(queuesDir)
    ? readdirSync(queuesDir).filter((q) => q.startsWith('rx-')).length
    : 0;
  return {
    ifIndex: Number.isInteger(ifIndex) && ifIndex > 0 ? ifIndex : undefined,
    speed: Number.isFinite(mbps) && mbps > 0 ? mbps * 1_000_000 : undefined,
    // IFF_UP is the administrative state; operstate "down" means no carrier. Loopback reports "unknown".
    up: (flags & IFF_UP) !== 0 && operstate !== 'down' && operstate !== 'lowerlayerdown',
    rxQueues,
    loopback: (flags & IFF_LOOPBACK) !== 0,
  };
}
