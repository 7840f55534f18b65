/**
 * What a systemd unit file asks of the sandbox, in the form `systemctl show` reports it, so a test can
 * check that the running manager applied the unit as written; and the score `systemd-analyze security`
 * prints.
 */

/** Sandbox settings whose `systemctl show` value is the unit's own (once normalised). */
const SCALAR_KEYS = [
  'User',
  'UMask',
  'LimitNOFILE',
  'NoNewPrivileges',
  'ProtectSystem',
  'ProtectHome',
  'PrivateTmp',
  'PrivateDevices',
  'ProtectKernelTunables',
  'ProtectKernelModules',
  'ProtectKernelLogs',
  'ProtectControlGroups',
  'ProtectClock',
  'ProtectHostname',
  'ProtectProc',
  'ProcSubset',
  'RestrictNamespaces',
  'RestrictRealtime',
  'RestrictSUIDSGID',
  'LockPersonality',
  'RemoveIPC',
  'MemoryDenyWriteExecute',
  'SystemCallArchitectures',
  'DevicePolicy',
];
/** Lists: systemd prints them in an order of its own, and capability names in lower case. */
const SET_KEYS = [
  'CapabilityBoundingSet',
  'AmbientCapabilities',
  'RestrictAddressFamilies',
  'ReadWritePaths',
];

function normalise(key: string, value: string): string {
  if (!SET_KEYS.includes(key)) return value.trim();
  return value
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((v) => (key.endsWith('Capabilities') || key === 'CapabilityBoundingSet' ? v.toLowerCase() : v))
    .sort()
    .join(' ');
}

/**
 * The [Service] section's sandbox settings, normalised. A key given several times keeps its last
 * assignment (lists add up, an empty assignment resets), as systemd reads them.
 */
export function unitSandbox(unit: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (SCALAR_KEYS.includes(key)) out[key] = value;
    else if (SET_KEYS.includes(key)) out[key] = value === '' ? '' : `${out[key] ?? ''} ${value}`;
  }
  for (const key of Object.keys(out)) out[key] = normalise(key, out[key]!);
  return out;
}

/** `systemctl show` output for the same keys, normalised the same way. */
export function shownSandbox(shown: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, normalise(k, shown[k] ?? '<not shown>')]));
}

/** The number on `systemd-analyze security`'s last line ("→ Overall exposure level for X: 2.1 OK"). */
export function overallExposure(output: string): number {
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  if (!m) throw new Error(`no overall exposure level in ${JSON.stringify(output.slice(-300))}`);
  return Number(m[1]);
}
