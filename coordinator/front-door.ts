/**
 * The SMB front door: accepts with pauseOnConnect (libuv never reads), peeks the first PDU with MSG_PEEK
 * under a deadline and a size cap, and hands on only connections whose first PDU is an SMB2 NEGOTIATE.
 * The bytes stay in the socket for whoever owns it next.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { fdOf, type PendingPeek, setDeferAccept, startPeek } from '../native/index.js';
import type { WireErrorCode } from '../wire/errors.js';
import { plainIp } from '../wire/ip.js';
import { type NegotiateRequest, negotiateRequestPull } from '../wire/smb2/negotiate.js';
import { FrameReader, TRANSPORT_HEADER_LEN } from '../wire/smb2/transport.js';
import { PendingPeeks } from './pending-peeks.js';

export interface AcceptedConnection {
  socket: Socket;
  fd: number;
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
   * starts failing (libuv then drops connections in the backlog unseen, real clients' among them).
   */
  fdLimit?: number;
  /**
   * Set TCP_DEFER_ACCEPT (for timeoutMs, in seconds) on every listener, inherited ones too: connections
   * are accepted only once they have sent something (see native/src/sockinfo.cc).
   */
  deferAccept?: boolean;
  /** Told when a listener option cannot be set (the listener still serves). */
  onWarning?: (message: string) => void;
  /**
   * Why connections to this local address are closed at once, before they are read; undefined to take
   * them (a public IP being released: releasing-ips.ts).
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
/** Pending connections closed at once when accept runs out of fds, so the next accept has room. */
const SHED_ON_EMFILE = 32;
/** How close to the fd limit an accepted fd may be numbered before pending connections are shed. */
const FD_HEADROOM = 64;

interface Pending {
  socket: Socket;
  localAddress: string;
  peek: PendingPeek;
  close: (reason: RejectReason, detail: string) => void;
}

function plainAddress(address: string | undefined): string {
  return address ? plainIp(address) : '';
}

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

export class FrontDoor extends EventEmitter<{
  connection: [AcceptedConnection];
  rejected: [Rejection];
  'accept-error': [AcceptError];
}> {
  private readonly servers: Server[] = [];
  private readonly pending: PendingPeeks<Pending>;

  constructor(private readonly options: FrontDoorOptions) {
    super();
    this.pending = new PendingPeeks(options.maxPending, options.maxPendingPerAddress);
  }

  /**
   * Closes every connection to `localAddress` still waiting for its NEGOTIATE; returns how many. Under a
   * flood of silent connections to a public IP these are most of what ctdb's releaseip would otherwise
   * kill one by one before it lets the IP go.
   */
  closePendingTo(localAddress: string, reason: RejectReason, detail: string): number {
    const gone = [...this.pending.items()].filter((p) => p.localAddress === localAddress);
    for (const p of gone) {
      this.pending.delete(p);
      p.close(reason, detail);
    }
    return gone.length;
  }

  /** Connections accepted and still waiting for their NEGOTIATE (one fd each). */
  pendingCount(): number {
    return this.pending.size;
  }

  async start(): Promise<void> {
    for (const l of this.options.listen) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const fd = this.options.inherited?.(l);
        const where = fd === undefined ? { host: l.address, port: l.port } : { fd };
        server.listen({ ...where, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      if (this.options.deferAccept) {
        try {
          setDeferAccept(
            fdOf(server as unknown as Socket),
            Math.max(1, Math.ceil(this.options.timeoutMs / 1000)),
          );
        } catch (error) {
          this.options.onWarning?.(
            `${l.address}:${l.port}: TCP_DEFER_ACCEPT not set (${(error as Error).message}): idle connections are accepted at once`,
          );
        }
      }
      // Once listening, an error is a failed accept (libuv already closed what it could not take): the
      // listener goes on, and pending connections make room for the next one.
      server.on('error', (error: NodeJS.ErrnoException) =>
        this.acceptFailed(`${l.address}:${l.port}`, error),
      );
      this.servers.push(server);
    }
  }

  addresses(): { address: string; port: number }[] {
    return this.servers.map((s) => {
      const a = s.address() as { address: string; port: number };
      return { address: a.address, port: a.port };
    });
  }

  async stop(): Promise<void> {
    for (const p of this.pending.takeOldest(this.pending.size)) {
      p.peek.cancel();
      p.socket.destroy();
    }
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }

  private onConnection(socket: Socket): void {
    const acceptedAt = Date.now();
    const local = { address: plainAddress(socket.localAddress), port: socket.localPort ?? 0 };
    const remote = { address: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
    const reject = (reason: RejectReason, detail: string, code?: WireErrorCode) => {
      socket.destroy();
      this.emit('rejected', {
        reason,
        detail,
        remote: `${remote.address}:${remote.port}`,
        local: `${local.address}:${local.port}`,
        ...(code ? { code } : {}),
      });
    };
    socket.on('error', () => undefined);
    const refusal = this.options.refuseTo?.(local.address);
    if (refusal !== undefined) {
      reject('ip-releasing', refusal);
      return;
    }
    let fd: number;
    try {
      fd = fdOf(socket);
    } catch (error) {
      reject('error', (error as Error).message);
      return;
    }
    if (this.options.fdLimit !== undefined && fd >= this.options.fdLimit - FD_HEADROOM)
      for (const p of this.pending.takeOldest(SHED_ON_EMFILE))
        p.close(
          'shed',
          `fd ${fd} is near the open-file limit ${this.options.fdLimit}: closing the oldest connections still waiting for their NEGOTIATE`,
        );
    const max = this.options.maxBytes;
    const peek = startPeek(fd, {
      maxBytes: max,
      deadlineMs: this.options.timeoutMs,
      // Enough to judge the header, then the whole first frame (the cap makes oversized frames 'done').
      decide: (b) => {
        if (b.length < TRANSPORT_HEADER_LEN + 4) return TRANSPORT_HEADER_LEN + 4;
        if (b[0] !== 0) return 'done';
        const length = b.readUIntBE(1, 3);
        return length + TRANSPORT_HEADER_LEN > max
          ? 'done'
          : b.length >= length + TRANSPORT_HEADER_LEN
            ? 'done'
            : length + TRANSPORT_HEADER_LEN;
      },
    });
    let entry: Pending | undefined;
    if (peek.waiting) {
      entry = {
        socket,
        localAddress: local.address,
        peek,
        close: (reason, detail) => {
          // Out of the epoll set before the fd is closed: a reused fd number must never meet this peek.
          peek.cancel();
          reject(reason, detail);
        },
      };
      for (const { evicted, why } of this.pending.add(remote.address, entry))
        evicted.close(
          'shed',
          why === 'per-address'
            ? `${this.options.maxPendingPerAddress} connections from this address already waiting for their NEGOTIATE; closing the oldest`
            : `${this.options.maxPending} connections already waiting for their NEGOTIATE; closing the oldest`,
        );
    }
    peek.done.then((outcome) => {
      if (entry) this.pending.delete(entry);
      if (socket.destroyed || outcome.kind === 'cancelled') return;
      if (outcome.kind === 'error') return reject('error', outcome.error.message);
      const bytes = outcome.bytes;
      // Judge what arrived even when the stream ended or the deadline passed: garbage is garbage.
      const reader = new FrameReader({ maxFrame: max - TRANSPORT_HEADER_LEN, allowTransform: false });
      const { frames, error } = reader.push(bytes);
      if (error) return reject(rejectionFor(error.code), error.message, error.code);
      if (frames.length === 0) {
        if (outcome.kind === 'timeout')
          return reject(
            'timeout',
            `no complete SMB2 frame within ${this.options.timeoutMs} ms (${bytes.length} bytes)`,
          );
        return reject(
          outcome.kind === 'eof' ? 'eof' : 'truncated',
          `connection ended after ${bytes.length} bytes`,
        );
      }
      const first = frames[0]!;
      const parsed = negotiateRequestPull(first, TRANSPORT_HEADER_LEN);
      if (!parsed.ok) return reject(rejectionFor(parsed.error.code), parsed.error.message, parsed.error.code);
      this.emit('connection', {
        socket,
        fd,
        local,
        remote,
        negotiateBytes: bytes.subarray(0, TRANSPORT_HEADER_LEN + first.byteLength),
        request: parsed.value,
        acceptedAt,
      });
    });
  }

  private acceptFailed(listener: string, error: NodeJS.ErrnoException): void {
    const code = error.code ?? 'EUNKNOWN';
    if (code === 'EMFILE' || code === 'ENFILE')
      for (const p of this.pending.takeOldest(SHED_ON_EMFILE))
        p.close(
          'shed',
          `accept failed with ${code}: closing the oldest connections still waiting for their NEGOTIATE`,
        );
    this.emit('accept-error', { listener: 'smb', code, message: `${listener}: ${error.message}` });
  }
}
