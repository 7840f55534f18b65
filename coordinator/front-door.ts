/**
 * The SMB front door: the native acceptor (native/src/acceptor.cc) accepts, peeks the first PDU with
 * MSG_PEEK under a deadline and a size cap, and keeps the pending bounds, all without a JavaScript
 * socket; this module judges each first frame and hands on only SMB2 NEGOTIATEs. The bytes stay in the
 * socket for whoever owns it next.
 */
import { EventEmitter } from 'node:events';
import { readlinkSync } from 'node:fs';
import {
  Acceptor,
  type AcceptReport,
  closeFd,
  listenerInfo,
  listenTcp,
  listTcpSockets,
  NativeError,
  relisten,
  setDeferAccept,
} from '../native/index.js';
import type { WireErrorCode } from '../wire/errors.js';
import { plainIp } from '../wire/ip.js';
import { type NegotiateRequest, negotiateRequestPull } from '../wire/smb2/negotiate.js';
import { FrameReader, TRANSPORT_HEADER_LEN } from '../wire/smb2/transport.js';

export interface AcceptedConnection {
  /** mccd's copy of the connection, open until close(): handed on by SCM_RIGHTS or inherited by smbd. */
  fd: number;
  /** Closes mccd's copy (once; later calls do nothing). */
  close(): void;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  /** The NEGOTIATE as peeked, transport header included. */
  negotiateBytes: Buffer;
  request: NegotiateRequest;
  acceptedAt: number;
}

export type RejectReason =
  | 'smb1'
  | 'not-smb2'
  | 'oversized'
  | 'truncated'
  | 'timeout'
  | 'eof'
  | 'bad-negotiate'
  | 'error'
  // the oldest pending connection, closed to keep pending peeks within their bounds (negotiate.maxPending*)
  | 'shed'
  // decided after the peek, by the coordinator:
  | 'tearing-down'
  | 'channel-limit'
  | 'no-backend'
  | 'cluster-lost'
  | 'client-limit'
  // to a public IP this node is releasing (releasing-ips.ts)
  | 'ip-releasing'
  // the client closed or reset the connection before it could be handed off
  | 'client-gone'
  // waited for an owner longer than the overload bound allows
  | 'overloaded';

export interface Rejection {
  reason: RejectReason;
  detail: string;
  remote: string;
  local: string;
  code?: WireErrorCode;
}

export interface FrontDoorOptions {
  listen: { address: string; port: number }[];
  timeoutMs: number;
  maxBytes: number;
  /** Connections still waiting for their NEGOTIATE, overall and from one source address. */
  maxPending: number;
  maxPendingPerAddress: number;
  /**
   * The open-file limit mccd started under. fds are allocated lowest first, so an accepted fd numbered
   * near it means the process is nearly out: the oldest pending connections are closed before accept
   * starts failing (the kernel then drops connections in the backlog, real clients' among them).
   */
  fdLimit?: number;
  /**
   * Set TCP_DEFER_ACCEPT (for timeoutMs, in seconds) on every listener, inherited ones too: connections
   * are accepted only once they have sent something (see native/src/sockinfo.cc).
   */
  deferAccept?: boolean;
  /** Listening sockets per address (SO_REUSEPORT), each with queues of its own; 1 for an inherited one. */
  acceptQueues?: number;
  /** Told when a listener option cannot be set (the listener still serves). */
  onWarning?: (message: string) => void;
  /**
   * Why connections to this local address are closed unread (a reset: their bytes stay unread), undefined
   * to take them (a public IP being released: releasing-ips.ts).
   */
  refuseTo?: (localAddress: string) => string | undefined;
  /** A listening socket handed over by socket activation for this address (see listen-fds.ts), if any. */
  inherited?: (l: { address: string; port: number }) => number | undefined;
}

/** An accept that failed (EMFILE, ENFILE, ENOBUFS...): the listener keeps listening. */
export interface AcceptError {
  listener: string;
  code: string;
  message: string;
}

/**
 * The accept queue asked for; the kernel caps it at net.core.somaxconn (4,096 by default). Under an idle
 * flood with TCP_DEFER_ACCEPT the kernel releases the silent connections it held in bursts that fill a
 * 4,096 queue, and a client's connection dropped at a full queue waits 200 ms or more for its
 * retransmission (bench/NOTES.md): raising somaxconn alone is then enough to lengthen it.
 */
const LISTEN_BACKLOG = 65535;

function rejectionFor(code: WireErrorCode): RejectReason {
  switch (code) {
    case 'SMB1':
      return 'smb1';
    case 'NOT_SMB2':
      return 'not-smb2';
    case 'OVERSIZED':
      return 'oversized';
    case 'TRUNCATED':
      return 'truncated';
    default:
      return 'bad-negotiate';
  }
}

/**
 * SO_REUSEPORT lets any process of the same user join the port's group, and a second mccd started by
 * mistake would then silently take part of the connections: one ClientGUID's channels split between two
 * processes. Without the option its bind would fail (EADDRINUSE); with it, mccd counts the listeners on
 * its address and port that are not its own, and refuses to serve beside them.
 */
function strangersOnPort(address: string, port: number, mine: number[]): number {
  const own = new Set(mine.map(socketInode));
  return listTcpSockets({ localPort: port, states: 1 << 10 }).filter(
    (s) => s.localAddress === plainIp(address) && !own.has(s.inode),
  ).length;
}

function socketInode(fd: number): number {
  const link = readlinkSync(`/proc/self/fd/${fd}`);
  return Number(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? -1);
}

type Verdict =
  | { negotiateBytes: Buffer; request: NegotiateRequest }
  | { reason: RejectReason; detail: string; code?: WireErrorCode };

function closeOnce(fd: number): () => void {
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    try {
      closeFd(fd);
    } catch {
      // Already gone (EBADF): nothing left to close.
    }
  };
}

export class FrontDoor extends EventEmitter<{
  connection: [AcceptedConnection];
  rejected: [Rejection];
  'accept-error': [AcceptError];
}> {
  private acceptor: Acceptor | undefined;
  private readonly listening: { fd: number; address: string; port: number; listed: boolean }[] = [];

  constructor(private readonly options: FrontDoorOptions) {
    super();
  }

  /**
   * Closes every connection to `localAddress` still waiting for its NEGOTIATE; returns how many. Under a
   * flood of silent connections to a public IP these are most of what ctdb's releaseip would otherwise
   * kill one by one before it lets the IP go.
   */
  closePendingTo(localAddress: string, reason: RejectReason, detail: string): number {
    const closed = this.acceptor?.closePendingTo(localAddress) ?? [];
    for (const c of closed)
      this.emit('rejected', {
        reason,
        detail,
        remote: `${c.remote.address}:${c.remote.port}`,
        local: `${c.local.address}:${c.local.port}`,
      });
    return closed.length;
  }

  /** Connections accepted and still waiting for their NEGOTIATE (one fd each). */
  pendingCount(): number {
    return this.acceptor?.pending() ?? 0;
  }

  async start(): Promise<void> {
    const acceptor = new Acceptor(
      {
        maxBytes: this.options.maxBytes,
        deadlineMs: this.options.timeoutMs,
        maxPending: this.options.maxPending,
        maxPendingPerAddress: this.options.maxPendingPerAddress,
        ...(this.options.fdLimit === undefined ? {} : { fdLimit: this.options.fdLimit }),
      },
      (reports) => {
        for (const r of reports) this.onReport(r);
      },
    );
    this.acceptor = acceptor;
    try {
      this.listenAll(acceptor);
    } catch (error) {
      // Nothing half-open stays behind a start that failed (a port in use, an address not here).
      await this.stop();
      throw error;
    }
  }

  private listenAll(acceptor: Acceptor): void {
    for (const l of this.options.listen) {
      for (const fd of this.openQueues(l)) {
        if (this.options.deferAccept) {
          try {
            setDeferAccept(fd, Math.max(1, Math.ceil(this.options.timeoutMs / 1000)));
          } catch (error) {
            this.options.onWarning?.(
              `${l.address}:${l.port}: TCP_DEFER_ACCEPT not set (${(error as Error).message}): idle connections are accepted at once`,
            );
          }
        }
        acceptor.listen(fd, `${l.address}:${l.port}`);
      }
    }
  }

  /**
   * The listening sockets of one address: the inherited one (its queue outlives mccd's restarts, so it
   * stays alone: connections queued on sockets of mccd's own would die with it), or acceptQueues of
   * mccd's own sharing the address, the first choosing the port when the config says 0.
   */
  private openQueues(l: { address: string; port: number }): number[] {
    const inherited = this.options.inherited?.(l);
    if (inherited !== undefined) {
      relisten(inherited, LISTEN_BACKLOG);
      this.remember(inherited, true);
      return [inherited];
    }
    const queues = this.options.acceptQueues ?? 1;
    const fds: number[] = [];
    let port = l.port;
    for (let i = 0; i < queues; i++) {
      const fd = listenTcp(l.address, port, LISTEN_BACKLOG, queues > 1);
      port = this.remember(fd, i === 0);
      fds.push(fd);
    }
    let strangers = 0;
    try {
      if (queues > 1) strangers = strangersOnPort(l.address, port, fds);
    } catch (error) {
      this.options.onWarning?.(
        `${l.address}:${port}: could not list the port's listeners (${(error as Error).message}): a second mccd on it would not be noticed`,
      );
    }
    if (strangers > 0) {
      for (const fd of fds) closeOnce(fd)();
      this.listening.splice(this.listening.length - fds.length);
      throw new NativeError(
        `${l.address}:${port} is already served by another process of this user (${strangers} listening socket(s) in its SO_REUSEPORT group): is another mccd running?`,
        98,
        'EADDRINUSE',
        'listen',
      );
    }
    return fds;
  }

  /** Keeps a listening socket to close at stop; the first of an address is the one addresses() lists. */
  private remember(fd: number, listed: boolean): number {
    const local = listenerInfo(fd).local;
    this.listening.push({ fd, address: plainIp(local.address), port: local.port, listed });
    return local.port;
  }

  addresses(): { address: string; port: number }[] {
    return this.listening.filter((l) => l.listed).map(({ address, port }) => ({ address, port }));
  }

  async stop(): Promise<void> {
    this.acceptor?.close();
    this.acceptor = undefined;
    for (const l of this.listening) closeOnce(l.fd)();
    this.listening.length = 0;
  }

  private onReport(r: AcceptReport): void {
    if (r.kind === 'accept-error') {
      this.emit('accept-error', { listener: 'smb', code: r.code, message: r.detail });
      return;
    }
    const close = r.kind === 'ready' ? closeOnce(r.fd) : () => undefined;
    const refusal = r.kind === 'ready' ? this.options.refuseTo?.(r.local.address) : undefined;
    const verdict: Verdict =
      refusal !== undefined
        ? { reason: 'ip-releasing', detail: refusal }
        : 'bytes' in r
          ? this.judge(r)
          : { reason: r.kind, detail: r.detail };
    if ('request' in verdict) {
      this.emit('connection', {
        fd: (r as { fd: number }).fd,
        close,
        local: r.local,
        remote: r.remote,
        negotiateBytes: verdict.negotiateBytes,
        request: verdict.request,
        acceptedAt: r.acceptedAt,
      });
      return;
    }
    close();
    this.emit('rejected', {
      reason: verdict.reason,
      detail: verdict.detail,
      remote: `${r.remote.address}:${r.remote.port}`,
      local: `${r.local.address}:${r.local.port}`,
      ...(verdict.code ? { code: verdict.code } : {}),
    });
  }

  /** A NEGOTIATE to hand on, or why not. What arrived is judged even after an end or the deadline. */
  private judge(r: Extract<AcceptReport, { bytes: Buffer }>): Verdict {
    const reader = new FrameReader({
      maxFrame: this.options.maxBytes - TRANSPORT_HEADER_LEN,
      allowTransform: false,
    });
    const { frames, error } = reader.push(r.bytes);
    if (error) return { reason: rejectionFor(error.code), detail: error.message, code: error.code };
    const first = frames[0];
    if (first === undefined || r.kind !== 'ready') {
      if (r.kind === 'timeout') return { reason: 'timeout', detail: r.detail };
      return {
        reason: r.kind === 'eof' ? 'eof' : 'truncated',
        detail: `connection ended after ${r.bytes.length} bytes`,
      };
    }
    const parsed = negotiateRequestPull(first, TRANSPORT_HEADER_LEN);
    if (!parsed.ok)
      return {
        reason: rejectionFor(parsed.error.code),
        detail: parsed.error.message,
        code: parsed.error.code,
      };
    return {
      negotiateBytes: r.bytes.subarray(0, TRANSPORT_HEADER_LEN + first.byteLength),
      request: parsed.value,
    };
  }
}
