import { ByteReader, ByteWriter } from '../../wire/cursor.js';
import { type Parsed, parse } from '../../wire/errors.js';
import { CTDB_SOCKADDR_LEN, type CtdbSockAddr, sockaddrPull, sockaddrPush } from './sockaddr.js';

/** Control opcodes mcc uses (ctdb/protocol/protocol.h, enum ctdb_controls). */
export const CtdbControl = {
  REGISTER_SRVID: 23,
  DEREGISTER_SRVID: 24,
  GET_PNN: 35,
  TCP_CLIENT: 44,
  TCP_REMOVE: 46,
  GET_PUBLIC_IPS: 90,
  GET_NODEMAP: 91,
  GET_RUNSTATE: 138,
} as const;

/** GET_PUBLIC_IPS flag: only the addresses this node can host right now. */
export const PUBLIC_IP_FLAGS_ONLY_AVAILABLE = 0x00010000;

export const CtdbSrvid = {
  RECONFIGURE: 0xf200000000000000n,
  RELEASE_IP: 0xf300000000000000n,
  TAKE_IP: 0xf301000000000000n,
  /**
   * mcc's own srvid for messages between sidecars. ctdb reserves 0xF0-0xFF for itself; Samba, NFS, iSCSI,
   * tools and tests use 0xFE, 0xEE, 0xDE, 0xCE and 0xBE. 0xAE is unused; the low bytes spell "MCC".
   */
  MCC: 0xae4d434300000000n,
} as const;

export const NodeFlags = {
  DISCONNECTED: 0x01,
  UNHEALTHY: 0x02,
  PERMANENTLY_DISABLED: 0x04,
  BANNED: 0x08,
  DELETED: 0x10,
  STOPPED: 0x20,
} as const;

export function nodeFlagNames(flags: number): string[] {
  const names = Object.entries(NodeFlags)
    .filter(([, bit]) => flags & bit)
    .map(([name]) => name);
  const unknown = flags & ~0x3f;
  if (unknown) names.push(`0x${(unknown >>> 0).toString(16)}`);
  return names;
}

export const RUNSTATES = [
  'UNKNOWN',
  'INIT',
  'SETUP',
  'FIRST_RECOVERY',
  'STARTUP',
  'RUNNING',
  'SHUTDOWN',
] as const;
export type Runstate = (typeof RUNSTATES)[number];

export interface NodeMapEntry {
  pnn: number;
  flags: number;
  address: string;
}

export interface PublicIpEntry {
  /** Owner pnn, or undefined when no node hosts it (0xFFFFFFFF on the wire). */
  owner: number | undefined;
  address: string;
}

const NODEMAP_ENTRY_LEN = 8 + CTDB_SOCKADDR_LEN;
const PUBLIC_IP_ENTRY_LEN = 4 + CTDB_SOCKADDR_LEN;
const UNASSIGNED_PNN = 0xffffffff;

function countChecked(r: ByteReader, entryLen: number, what: string): number {
  const num = r.u32(0, `${what} count`);
  if (num * entryLen > r.length - 4) {
    r.fail('BAD_COUNT', `${what} count ${num} needs ${num * entryLen} bytes, ${r.length - 4} present`, 0);
  }
  return num;
}

export function nodeMapPull(data: Uint8Array): Parsed<NodeMapEntry[]> {
  return parse(() => {
    const r = new ByteReader(data);
    const num = countChecked(r, NODEMAP_ENTRY_LEN, 'node map');
    const out: NodeMapEntry[] = [];
    for (let i = 0; i < num; i++) {
      const at = 4 + i * NODEMAP_ENTRY_LEN;
      out.push({ pnn: r.u32(at), flags: r.u32(at + 4), address: sockaddrPull(r, at + 8).address });
    }
    return out;
  });
}

export function nodeMapPush(entries: NodeMapEntry[]): Uint8Array {
  const w = new ByteWriter(4 + entries.length * NODEMAP_ENTRY_LEN);
  w.u32(0, entries.length);
  entries.forEach((e, i) => {
    const at = 4 + i * NODEMAP_ENTRY_LEN;
    w.u32(at, e.pnn);
    w.u32(at + 4, e.flags);
    sockaddrPush({ address: e.address, port: 0 }, w, at + 8);
  });
  return w.bytes;
}

export function publicIpsPull(data: Uint8Array): Parsed<PublicIpEntry[]> {
  return parse(() => {
    const r = new ByteReader(data);
    const num = countChecked(r, PUBLIC_IP_ENTRY_LEN, 'public IP list');
    const out: PublicIpEntry[] = [];
    for (let i = 0; i < num; i++) {
      const at = 4 + i * PUBLIC_IP_ENTRY_LEN;
      const pnn = r.u32(at);
      out.push({ owner: pnn === UNASSIGNED_PNN ? undefined : pnn, address: sockaddrPull(r, at + 4).address });
    }
    return out;
  });
}

export function publicIpsPush(entries: PublicIpEntry[]): Uint8Array {
  const w = new ByteWriter(4 + entries.length * PUBLIC_IP_ENTRY_LEN);
  w.u32(0, entries.length);
  entries.forEach((e, i) => {
    const at = 4 + i * PUBLIC_IP_ENTRY_LEN;
    w.u32(at, e.owner ?? UNASSIGNED_PNN);
    const addr: CtdbSockAddr = { address: e.address, port: 0 };
    sockaddrPush(addr, w, at + 4);
  });
  return w.bytes;
}

export function runstatePull(data: Uint8Array): Parsed<Runstate> {
  return parse(() => {
    const value = new ByteReader(data).u32(0, 'runstate');
    return RUNSTATES[value] ?? new ByteReader(data).fail('BAD_VALUE', `unknown runstate ${value}`, 0);
  });
}

/** RELEASE_IP / TAKE_IP payloads: the address as a NUL-terminated string. */
export function ipMessagePull(data: Uint8Array): Parsed<string> {
  return parse(() => {
    const r = new ByteReader(data);
    const end = data.indexOf(0);
    const text = Buffer.from(data.subarray(0, end < 0 ? data.length : end)).toString('latin1');
    if (!/^[0-9a-fA-F.:]{2,45}$/.test(text))
      r.fail('BAD_ADDRESS', `IP message payload is not an address: ${JSON.stringify(text)}`, 0);
    return text;
  });
}

/**
 * struct ctdb_connection (4.17): src (the client) then dst (the server), each a 28-byte ctdb_sock_addr.
 * With TCP_CLIENT a server process tells ctdbd about a connection to a public IP; the node that takes the
 * IP over then sends tickle ACKs, so the client resets at once instead of waiting for a timeout.
 */
export interface CtdbConnectionTuple {
  client: CtdbSockAddr;
  server: CtdbSockAddr;
}

export function connectionPush(c: CtdbConnectionTuple): Uint8Array {
  const w = new ByteWriter(2 * CTDB_SOCKADDR_LEN);
  sockaddrPush(c.client, w, 0);
  sockaddrPush(c.server, w, CTDB_SOCKADDR_LEN);
  return w.bytes;
}

export function connectionPull(data: Uint8Array): Parsed<CtdbConnectionTuple> {
  return parse(() => {
    const r = new ByteReader(data);
    return { client: sockaddrPull(r, 0), server: sockaddrPull(r, CTDB_SOCKADDR_LEN) };
  });
}
