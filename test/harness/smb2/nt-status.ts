/** The NTSTATUS values the durable probe meets (MS-ERREF 2.3.1), by the names smbd logs them with. */
export const NtStatus = {
  OK: 0x00000000,
  PENDING: 0x00000103,
  INVALID_HANDLE: 0xc0000008,
  INVALID_PARAMETER: 0xc000000d,
  MORE_PROCESSING_REQUIRED: 0xc0000016,
  ACCESS_DENIED: 0xc0000022,
  OBJECT_NAME_NOT_FOUND: 0xc0000034,
  OBJECT_NAME_COLLISION: 0xc0000035,
  SHARING_VIOLATION: 0xc0000043,
  LOGON_FAILURE: 0xc000006d,
  INSUFFICIENT_RESOURCES: 0xc000009a,
  NOT_SUPPORTED: 0xc00000bb,
  NETWORK_NAME_DELETED: 0xc00000c9,
  BAD_NETWORK_NAME: 0xc00000cc,
  REQUEST_NOT_ACCEPTED: 0xc00000d0,
  INTERNAL_ERROR: 0xc00000e5,
  FILE_CLOSED: 0xc0000128,
  USER_SESSION_DELETED: 0xc0000203,
  DUPLICATE_OBJECTID: 0xc000022a,
  NETWORK_SESSION_EXPIRED: 0xc000035c,
  FILE_NOT_AVAILABLE: 0xc0000467,
} as const;

const NAMES = new Map<number, string>(Object.entries(NtStatus).map(([k, v]) => [v, `NT_STATUS_${k}`]));

/** `NT_STATUS_<NAME>` for known codes, `0x%08x` otherwise. */
export function ntStatusName(status: number): string {
  return NAMES.get(status >>> 0) ?? `0x${(status >>> 0).toString(16).padStart(8, '0')}`;
}
