import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { plainIp } from '../wire/ip.js';
import { addon, type RawAddress, type RawDiagSocket, type SocketTuple } from './addon.js';
import { call, NativeError } from './errors.js';

export type { RawAddress, SocketTuple };

/** The kernel fd behind a net.Socket (Linux libuv TCP/pipe handles expose it). */
export function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new NativeError('socket has no fd (closed, or not a TCP socket)', 9, 'EBADF', 'fdOf');
  return fd;
}

/** The bytes queued on a socket, up to maxBytes, left there (MSG_PEEK); null when none are yet. */
export function peek(fd: number, maxBytes: number): Buffer | null {
  return call(() => addon.peek(fd, maxBytes));
}

export function peerCred(fd: number): { pid: number; uid: number; gid: number } {
  return call(() => addon.peerCred(fd));
}

export interface TcpInfo {
  /** Bytes of struct tcp_info the kernel filled; fields past it are absent, not zero. */
  length: number;
  state: number;
  caState?: number;
  retransmits?: number;
  probes?: number;
  backoff?: number;
  rtoUs?: number;
  atoUs?: number;
  sndMss?: number;
  rcvMss?: number;
  unacked?: number;
  sacked?: number;
  lost?: number;
  retrans?: number;
  lastDataSentMs?: number;
  lastAckSentMs?: number;
  lastDataRecvMs?: number;
  lastAckRecvMs?: number;
  pmtu?: number;
  rttUs?: number;
  rttVarUs?: number;
  sndCwnd?: number;
  totalRetrans?: number;
  bytesAcked?: number;
  bytesReceived?: number;
  segsOut?: number;
  segsIn?: number;
  notsentBytes?: number;
  minRttUs?: number;
  bytesSent?: number;
  bytesRetrans?: number;
  deliveryRate?: number;
}

/** listTcpSockets state mask: ESTABLISHED and CLOSE_WAIT, a connection that is there until its owner closes it. */
export const TCP_STATES_OPEN = (1 << 1) | (1 << 8);

export const TCP_STATES = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
] as const;

export function tcpInfo(fd: number): TcpInfo {
  return call(() => addon.tcpInfo(fd)) as unknown as TcpInfo;
}

/**
 * Whether the peer of a TCP socket is still there: ESTABLISHED. A client that gave up and closed has
 * sent its FIN (CLOSE_WAIT) or reset the connection (CLOSE); handing such a connection on is work for
 * nobody. One getsockopt.
 */
export function peerStillThere(fd: number): boolean {
  try {
    return addon.tcpState(fd) === 1;
  } catch {
    return false;
  }
}

/** Bytes sent but not acknowledged plus bytes not yet sent (SIOCOUTQ). */
export function outq(fd: number): number {
  return call(() => addon.outq(fd));
}

/** Bytes not yet sent (SIOCOUTQNSD). */
export function outqNotSent(fd: number): number {
  return call(() => addon.outqNotSent(fd));
}

export function socketAddresses(fd: number): { local: RawAddress; remote: RawAddress } {
  return call(() => addon.socketAddresses(fd));
}

/**
 * TCP_DEFER_ACCEPT on a listening socket: connections are queued for accept only once their first data
 * arrives (or after about `seconds`). See native/src/sockinfo.cc.
 */
export function setDeferAccept(fd: number, seconds: number): void {
  call(() => addon.setDeferAccept(fd, seconds));
}

/** A descriptor's bound address, whether it is a stream socket and whether it listens (SO_ACCEPTCONN). */
export function listenerInfo(fd: number): { local: RawAddress; stream: boolean; listening: boolean } {
  return call(() => addon.listenerInfo(fd));
}

export function closeFd(fd: number): void {
  call(() => addon.closeFd(fd));
}

export function dupFd(fd: number): number {
  return call(() => addon.dupFd(fd));
}

export function shutdownFd(fd: number): void {
  call(() => addon.shutdownFd(fd));
}

export type DestroyResult = 'destroyed' | 'not-found' | { errno: number };

function destroyResult(errno: number): DestroyResult {
  if (errno === 0) return 'destroyed';
  if (errno === 2) return 'not-found';
  return { errno };
}

/** The 4-tuple of a connection from its two endpoints (how the front door and ctdbd name them). */
export function socketTuple(
  local: { address: string; port: number },
  remote: { address: string; port: number },
): SocketTuple {
  return {
    localAddress: local.address,
    localPort: local.port,
    remoteAddress: remote.address,
    remotePort: remote.port,
  };
}

/**
 * The one string form of a 4-tuple, server side first as operators read it. Also used as a map key, so
 * a tuple from inet_diag and the same tuple from the front door meet.
 */
export function socketTupleLabel(t: SocketTuple): string {
  return `${t.localAddress}:${t.localPort}<-${t.remoteAddress}:${t.remotePort}`;
}

/** Kills connections owned by any process by 4-tuple (SOCK_DESTROY); the peer sees a reset. */
export function destroySockets(tuples: SocketTuple[]): DestroyResult[] {
  if (tuples.length === 0) return [];
  return call(() => addon.destroySockets(tuples)).map(destroyResult);
}

export function destroySocket(
  local: { address: string; port: number },
  remote: { address: string; port: number },
): DestroyResult {
  return destroySockets([socketTuple(local, remote)])[0]!;
}

export interface ListedSocket extends RawDiagSocket {
  stateName: string;
}

/** TCP sockets in this network namespace, optionally only those on `localPort` (default: established). */
export function listTcpSockets(
  options: { localPort?: number; states?: number; withInfo?: boolean } = {},
): ListedSocket[] {
  const states = options.states ?? 1 << 1;
  const port = options.localPort ?? -1;
  return (['ipv4', 'ipv6'] as const).flatMap((family) =>
    call(() => addon.listTcpSockets(family, port, states, options.withInfo === true)).map((s) => ({
      ...s,
      // Dual-stack listeners report IPv4 peers as ::ffff:a.b.c.d.
      localAddress: plainIp(s.localAddress),
      remoteAddress: plainIp(s.remoteAddress),
      stateName: TCP_STATES[s.state] ?? String(s.state),
    })),
  );
}

/** Open fds of this process (for leak checks in tests and the daemon's status). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length - 1;
}
