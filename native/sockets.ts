import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { plainIp } from '../wire/ip.js';
import { addon, type RawAddress, type RawDiagSocket, type RawPeekSet, type SocketTuple } from './addon.js';
import { call, NativeError } from './errors.js';

export type { RawAddress, SocketTuple };

/** The kernel fd behind a net.Socket (Linux libuv TCP/pipe handles expose it). */
export function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new NativeError('socket has no fd (closed, or not a TCP socket)', 9, 'EBADF', 'fdOf');
  return fd;
}

export type PeekOutcome =
  | { kind: 'ready'; bytes: Buffer }
  | { kind: 'eof'; bytes: Buffer }
  | { kind: 'timeout'; bytes: Buffer }
  | { kind: 'cancelled'; bytes: Buffer }
  | { kind: 'error'; error: Error };

export interface PeekOptions {
  /** Most bytes to look at. */
  maxBytes: number;
  /** Give up after this long (the front door's NEGOTIATE deadline). */
  deadlineMs: number;
  /**
   * Decides from the bytes so far: 'done' to stop, or how many bytes are needed in total before it is
   * worth looking again (the watcher sleeps until then, via SO_RCVLOWAT).
   */
  decide: (bytes: Buffer) => 'done' | number;
}

/** A peek under way: its outcome, and cancel() which must be called before the fd is closed early. */
export interface PendingPeek {
  done: Promise<PeekOutcome>;
  /** False when the outcome was known at once (the usual case: the NEGOTIATE came with the connection). */
  waiting: boolean;
  /** Ends the peek now with kind 'cancelled' (no-op once it has ended). */
  cancel(): void;
}

/** What to call when a watched fd turns readable (or shut down); keyed by fd while its peek waits. */
const watched = new Map<number, () => void>();
let peekSet: RawPeekSet | undefined;

/**
 * One epoll set for every pending peek (native/src/peekset.cc): each silent connection costs its own fd
 * and nothing more, where a uv_poll per connection needed a dup of each.
 */
function sharedPeekSet(): RawPeekSet {
  peekSet ??= call(
    () =>
      new addon.PeekSet((fds) => {
        for (const fd of fds) watched.get(fd)?.();
      }),
  );
  return peekSet;
}

/** Pending peeks right now (each holds one fd: the connection's own). */
export function pendingPeeks(): number {
  return watched.size;
}

/**
 * Peeks at the start of a TCP stream without consuming it (MSG_PEEK), waiting for readiness through a
 * shared epoll set so libuv's own watcher slot for the fd is left alone. SO_RCVLOWAT is reset to 1
 * afterwards. The caller must cancel() before closing the fd while the peek is pending.
 */
export function startPeek(fd: number, options: PeekOptions): PendingPeek {
  // Usually the whole first PDU is already queued when the connection is accepted: one non-blocking peek
  // then decides, with no registration or timer.
  let first: Buffer | null;
  try {
    first = call(() => addon.peek(fd, options.maxBytes));
  } catch (error) {
    return settled({ kind: 'error', error: error as Error });
  }
  if (
    first !== null &&
    first.length > 0 &&
    (options.decide(first) === 'done' || first.length >= options.maxBytes)
  )
    return settled({ kind: 'ready', bytes: first });
  if (first !== null && first.length === 0) return settled({ kind: 'eof', bytes: Buffer.alloc(0) });
  if (watched.has(fd))
    return settled({
      kind: 'error',
      error: new NativeError('fd is already being peeked', 16, 'EBUSY', 'peek'),
    });
  let resolveOutcome!: (o: PeekOutcome) => void;
  const done = new Promise<PeekOutcome>((resolve) => {
    resolveOutcome = resolve;
  });
  let last: Buffer = first ?? Buffer.alloc(0);
  /** The SO_RCVLOWAT in force: readiness below it can only mean the peer shut down (or an error). */
  let lowWater = 1;
  let finished = false;
  const set = sharedPeekSet();
  const finish = (outcome: PeekOutcome) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    watched.delete(fd);
    set.remove(fd);
    if (lowWater !== 1) {
      try {
        addon.setRcvLowat(fd, 1);
      } catch {
        // The peer may already be gone; nothing to reset then.
      }
    }
    resolveOutcome(outcome);
  };
  const look = (fromEvent: boolean) => {
    let bytes: Buffer | null;
    try {
      bytes = call(() => addon.peek(fd, options.maxBytes));
    } catch (error) {
      finish({ kind: 'error', error: error as Error });
      return;
    }
    if (bytes === null) return;
    // Peeked bytes stay queued, so after a FIN the fd stays readable with the same short data:
    // readiness below the low-water mark is end of stream, not news.
    if (bytes.length === 0 || (fromEvent && bytes.length < lowWater)) {
      finish({ kind: 'eof', bytes: bytes.length > 0 ? bytes : last });
      return;
    }
    last = bytes;
    const verdict = options.decide(bytes);
    if (verdict === 'done' || bytes.length >= options.maxBytes) {
      finish({ kind: 'ready', bytes });
      return;
    }
    const want = Math.min(Math.max(verdict, bytes.length + 1), options.maxBytes);
    try {
      call(() => addon.setRcvLowat(fd, want));
      lowWater = want;
    } catch (error) {
      finish({ kind: 'error', error: error as Error });
    }
  };
  const timer = setTimeout(() => finish({ kind: 'timeout', bytes: last }), options.deadlineMs);
  try {
    call(() => set.add(fd));
  } catch (error) {
    clearTimeout(timer);
    return settled({ kind: 'error', error: error as Error });
  }
  watched.set(fd, () => look(true));
  // A peer that shut down its write side with fewer bytes than SO_RCVLOWAT still reads as readable,
  // so the set cannot sleep on it forever; the deadline bounds everything else.
  if (first !== null) look(false);
  return {
    done,
    get waiting() {
      return !finished;
    },
    cancel: () => finish({ kind: 'cancelled', bytes: last }),
  };
}

function settled(outcome: PeekOutcome): PendingPeek {
  return { done: Promise.resolve(outcome), waiting: false, cancel: () => undefined };
}

/** startPeek for callers that never close the fd early. */
export function peekUntil(fd: number, options: PeekOptions): Promise<PeekOutcome> {
  return startPeek(fd, options).done;
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
