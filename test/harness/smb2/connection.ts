import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ByteReader } from '../../../wire/cursor.js';
import { WireError } from '../../../wire/errors.js';
import { isResponse, Smb2Flags, type Smb2Header, smb2HeaderPullFrom } from '../../../wire/smb2/header.js';
import { FrameReader, frame } from '../../../wire/smb2/transport.js';
import { NtStatus, ntStatusName } from './nt-status.js';

/**
 * One TCP connection to an SMB2 server: MessageIds, credits and request/response matching, nothing
 * about what the messages mean. Every request is bounded by a timeout; when the connection ends, every
 * waiting request fails with the reason and `closed` resolves with it.
 */
export interface Smb2Reply {
  header: Smb2Header;
  bytes: Uint8Array;
}

export class Smb2ConnectionError extends Error {
  override readonly name = 'Smb2ConnectionError';
}

/** An unsolicited message: the server's oplock or lease break notification (MessageId all ones). */
export const UNSOLICITED_MESSAGE_ID = 0xffffffffffffffffn;
/** Credits asked for with every request, so a handful of requests never wait for a grant. */
const CREDIT_REQUEST = 16;

interface Waiter {
  resolve: (reply: Smb2Reply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class Smb2Connection extends EventEmitter<{ unsolicited: [Smb2Reply] }> {
  private nextMessageId = 0n;
  private credits = 1;
  private readonly waiters = new Map<bigint, Waiter>();
  private readonly creditWaiters: (() => void)[] = [];
  private readonly reader = new FrameReader({ allowTransform: false });
  private endReason: string | undefined;
  readonly closed: Promise<string>;
  private markClosed!: (reason: string) => void;

  private constructor(
    private readonly socket: Socket,
    readonly timeoutMs: number,
  ) {
    super();
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error) =>
      this.end(`socket error: ${(error as NodeJS.ErrnoException).code ?? error.message}`),
    );
    socket.on('end', () => this.end('server closed the connection (FIN)'));
    socket.on('close', () => this.end('connection closed'));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Smb2Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Smb2ConnectionError(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new Smb2ConnectionError(`TCP connect to ${host}:${port}: ${error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Smb2Connection(socket, timeoutMs));
      });
    });
  }

  get ended(): string | undefined {
    return this.endReason;
  }

  /**
   * Sends one request built for the next MessageId and waits for its final response (interim
   * STATUS_PENDING answers only grant credits). `build` gets the MessageId and the credits to ask for.
   */
  async request(build: (messageId: bigint, creditRequest: number) => Uint8Array): Promise<Smb2Reply> {
    while (this.credits < 1 && this.endReason === undefined) {
      await new Promise<void>((resolve) => this.creditWaiters.push(resolve));
    }
    if (this.endReason !== undefined) throw new Smb2ConnectionError(this.endReason);
    this.credits -= 1;
    const messageId = this.nextMessageId;
    this.nextMessageId += 1n;
    const bytes = build(messageId, CREDIT_REQUEST);
    return new Promise<Smb2Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(messageId);
        reject(new Smb2ConnectionError(`no answer to MessageId ${messageId} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiters.set(messageId, { resolve, reject, timer });
      this.socket.write(frame(bytes));
    });
  }

  /** Drops the connection without any SMB2 goodbye (no LOGOFF, no CLOSE): what a crashed client does. */
  destroy(reason = 'destroyed by the client'): void {
    this.end(reason);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const { frames, error } = this.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    for (const message of frames) this.onMessage(message);
    if (error) this.destroy(`bad frame from the server: ${error.message}`);
  }

  private onMessage(message: Uint8Array): void {
    let header: Smb2Header;
    try {
      header = smb2HeaderPullFrom(new ByteReader(message));
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.destroy(`bad SMB2 header from the server: ${error.message}`);
      return;
    }
    if (!isResponse(header)) {
      this.destroy('the server sent a request');
      return;
    }
    this.credits += header.credits;
    while (this.credits > 0 && this.creditWaiters.length > 0) this.creditWaiters.shift()!();
    if (header.messageId === UNSOLICITED_MESSAGE_ID) {
      this.emit('unsolicited', { header, bytes: message });
      return;
    }
    const waiter = this.waiters.get(header.messageId);
    if (!waiter) return;
    // An interim answer (MS-SMB2 3.3.4.2): the final one follows with the same MessageId.
    if (header.status === NtStatus.PENDING && (header.flags & Smb2Flags.ASYNC_COMMAND) !== 0) return;
    this.waiters.delete(header.messageId);
    clearTimeout(waiter.timer);
    waiter.resolve({ header, bytes: message });
  }

  private end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    for (const [id, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Smb2ConnectionError(`${reason} while waiting for MessageId ${id}`));
    }
    this.waiters.clear();
    for (const wake of this.creditWaiters.splice(0)) wake();
    this.markClosed(reason);
  }
}

/** A command answered with a status the caller did not accept. */
export class Smb2StatusError extends Error {
  override readonly name = 'Smb2StatusError';
  readonly statusName: string;
  constructor(
    readonly command: string,
    readonly status: number,
  ) {
    super(`${command} failed: ${ntStatusName(status)}`);
    this.statusName = ntStatusName(status);
  }
}
