import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a test node's ctdb configuration directory holds, whichever way the node is made. */
export interface CtdbEtc {
  /** Every node's fixed address, in pnn order. */
  nodes: readonly string[];
  /** Public IPs, each on eth0 in a /24. */
  publicIps: readonly string[];
  tunables?: Record<string, number>;
  /** ctdb.conf's `[logging] location` value. */
  logLocation: string;
  /** Extra ctdb.conf sections (lines), before `[legacy]`. */
  extraConf?: string[];
  /** Event scripts linked into events/legacy beside ctdb's own 00.ctdb and 10.interface. */
  eventScripts?: readonly string[];
}

/**
 * Writes nodes, public_addresses, ctdb.tunables and ctdb.conf into `etc` and links the event scripts
 * (events/legacy must exist). RerecoveryTimeout=1 unless the tunables say otherwise: a test cluster
 * need not wait 10 s between recoveries.
 */
export function writeCtdbEtc(etc: string, c: CtdbEtc): void {
  writeFileSync(join(etc, 'nodes'), `${c.nodes.join('\n')}\n`);
  writeFileSync(join(etc, 'public_addresses'), `${c.publicIps.map((a) => `${a}/24 eth0`).join('\n')}\n`);
  const tunables = { RerecoveryTimeout: 1, ...(c.tunables ?? {}) };
  writeFileSync(
    join(etc, 'ctdb.tunables'),
    Object.entries(tunables)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  writeFileSync(
    join(etc, 'ctdb.conf'),
    [
      '[logging]',
      `\tlocation = ${c.logLocation}`,
      '\tlog level = NOTICE',
      ...(c.extraConf ?? []),
      '[legacy]',
      '\trealtime scheduling = false',
      '',
    ].join('\n'),
  );
  for (const s of ['00.ctdb.script', '10.interface.script'])
    symlinkSync(`/usr/share/ctdb/events/legacy/${s}`, join(etc, 'events/legacy', s));
  for (const script of c.eventScripts ?? [])
    symlinkSync(script, join(etc, 'events/legacy', script.split('/').pop()!));
}
