/** SMB2 dialect revision numbers and their usual names. */
export const Dialect = {
  SMB2_02: 0x0202,
  SMB2_10: 0x0210,
  SMB3_00: 0x0300,
  SMB3_02: 0x0302,
  SMB3_11: 0x0311,
  SMB2_WILDCARD: 0x02ff,
} as const;

const NAMES = new Map<number, string>([
  [0x0202, '2.0.2'],
  [0x0210, '2.1'],
  [0x0300, '3.0'],
  [0x0302, '3.0.2'],
  [0x0311, '3.1.1'],
  [0x02ff, '2.???'],
]);

export function dialectName(dialect: number): string {
  return NAMES.get(dialect) ?? `0x${dialect.toString(16).padStart(4, '0')}`;
}

/** Multi-channel exists from SMB 3.0 on. */
export function supportsMultiChannel(dialect: number): boolean {
  return dialect >= Dialect.SMB3_00 && dialect !== Dialect.SMB2_WILDCARD;
}

export const Smb2GlobalCapabilities = {
  DFS: 0x01,
  LEASING: 0x02,
  LARGE_MTU: 0x04,
  MULTI_CHANNEL: 0x08,
  PERSISTENT_HANDLES: 0x10,
  DIRECTORY_LEASING: 0x20,
  ENCRYPTION: 0x40,
  NOTIFICATIONS: 0x80,
} as const;

export function capabilityNames(capabilities: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(Smb2GlobalCapabilities)) if (capabilities & bit) names.push(name);
  const known = Object.values(Smb2GlobalCapabilities).reduce((a, b) => a | b, 0);
  const unknown = capabilities & ~known;
  if (unknown) names.push(`0x${(unknown >>> 0).toString(16)}`);
  return names;
}
