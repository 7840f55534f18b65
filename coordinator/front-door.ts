/**
 * The SMB front door: accepts with pauseOnConnect (libuv never reads), peeks the first PDU with MSG_PEEK
 * under a deadline and a size cap, and hands on only connections whose first PDU is an SMB2 NEGOTIATE.
 * The bytes stay in the socket for whoever owns it next.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { fdOf, peekUntil } from '../native/index.js';
import type { WireErrorCode } from '../wire/errors.js';
import { plainIp } from '../wire/ip.js';
import { type NegotiateRequest, negotiateRequestPull } from '../wire/smb2/negotiate.js';
import { FrameReader, TRANSPORT_HEADER_LEN } from '../wire/smb2/transport.js';

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
  // decided after the peek, by the coordinator:
  | 'tearing-down'
  | 'channel-limit'
  | 'no-backend'
  | 'cluster-lost';

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
  /** A listening socket handed over by socket activation for this address (see listen-fds.ts), if any. */
  inherited?: (l: { address: string; port: number }) => number | undefined;
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

export class FrontDoor extends EventEmitter<{ connection: [AcceptedConnection]; rejected: [Rejection] }> {
  private readonly servers: Server[] = [];
  private readonly peeking = new Set<Socket>();

  constructor(private readonly options: FrontDoorOptions) {
    super();
  }

  async start(): Promise<void> {
    for (const l of this.options.listen) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
      server.maxConnections = 100_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const fd = this.options.inherited?.(l);
        const where = fd === undefined ? { host: l.address, port: l.port } : { fd };
        server.listen({ ...where, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
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
    for (const s of this.peeking) s.destroy();
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
    let fd: number;
    try {
      fd = fdOf(socket);
    } catch (error) {
      reject('error', (error as Error).message);
      return;
    }
    this.peeking.add(socket);
    const max = this.options.maxBytes;
    peekUntil(fd, {
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
    }).then((outcome) => {
      this.peeking.delete(socket);
      if (socket.destroyed) return;
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
}
