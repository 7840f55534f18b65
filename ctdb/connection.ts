import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { WireError } from '../wire/errors.js';
import { CtdbDestination } from './protocol/header.js';
import { CtdbPacketReader, ctdbPacketPull, reqControlPush, reqMessagePush } from './protocol/packets.js';

/** ctdbd answered a control with a negative status; `errorText` is its own explanation. */
export class CtdbControlError extends Error {
  override readonly name = 'CtdbControlError';
  constructor(
    readonly opcode: number,
    readonly destnode: number,
    readonly status: number,
    readonly errorText: string,
  ) {
    super(
      `ctdb control ${opcode} to ${nodeName(destnode)} failed with status ${status}${errorText ? `: ${errorText}` : ''}`,
    );
  }
}

export class CtdbTimeoutError extends Error {
  override readonly name = 'CtdbTimeoutError';
  constructor(
    readonly opcode: number,
    readonly destnode: number,
    readonly timeoutMs: number,
  ) {
    super(`ctdb control ${opcode} to ${nodeName(destnode)} got no reply within ${timeoutMs} ms`);
  }
}

export class CtdbDisconnectedError extends Error {
  override readonly name = 'CtdbDisconnectedError';
}

function nodeName(destnode: number): string {
  return destnode === CtdbDestination.CURRENT_NODE ? 'the local node' : `node ${destnode}`;
}

export interface ControlReply {
  status: number;
  data: Uint8Array;
}

interface Pending {
  opcode: number;
  destnode: number;
  resolve: (r: ControlReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ConnectionEvents {
  message: [{ srvid: bigint; data: Uint8Array }];
  /** A packet from ctdbd that does not parse; the connection is closed after it. */
  protocolError: [WireError];
  close: [];
}

/**
 * One connection to ctdbd's unix socket: controls with request ids and per-request timeouts, messages in
 * both directions. No reconnection here (see CtdbClient); a broken stream closes it.
 */
export class CtdbConnection extends EventEmitter<ConnectionEvents> {
  private readonly reader = new CtdbPacketReader();
  private readonly pending = new Map<number, Pending>();
  private nextReqid = 1;
  private closed = false;
  /** srcnode in our headers: ctdbd ignores it for client packets, but real clients send their pnn. */
  pnn = 0;

  private constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  static open(path: string, timeoutMs = 2000): Promise<CtdbConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new CtdbDisconnectedError(`connecting to ctdbd at ${path} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new CtdbConnection(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new CtdbDisconnectedError(`cannot connect to ctdbd at ${path}: ${error.code ?? error.message}`),
        );
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  control(
    opcode: number,
    options: {
      destnode?: number;
      srvid?: bigint;
      data?: Uint8Array;
      flags?: number;
      timeoutMs?: number;
    } = {},
  ): Promise<ControlReply> {
    if (this.closed) return Promise.reject(new CtdbDisconnectedError('ctdbd connection is closed'));
    const destnode = options.destnode ?? CtdbDestination.CURRENT_NODE;
    const reqid = this.allocateReqid();
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqid);
        reject(new CtdbTimeoutError(opcode, destnode, timeoutMs));
      }, timeoutMs);
      this.pending.set(reqid, { opcode, destnode, resolve, reject, timer });
      this.socket.write(
        reqControlPush({
          header: { generation: 0, destnode, srcnode: this.pnn, reqid },
          opcode,
          srvid: options.srvid ?? 0n,
          clientId: 0,
          flags: options.flags ?? 0,
          data: options.data ?? new Uint8Array(0),
        }),
      );
    });
  }

  sendMessage(destnode: number, srvid: bigint, data: Uint8Array): void {
    if (this.closed) throw new CtdbDisconnectedError('ctdbd connection is closed');
    this.socket.write(
      reqMessagePush({ header: { generation: 0, destnode, srcnode: this.pnn, reqid: 0 }, srvid, data }),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CtdbDisconnectedError('ctdbd connection closed before the reply'));
    }
    this.pending.clear();
    this.emit('close');
  }

  private allocateReqid(): number {
    // Skip ids still in flight after a wrap-around (2^32 requests on one connection).
    for (;;) {
      const id = this.nextReqid;
      this.nextReqid = this.nextReqid >= 0xfffffffe ? 1 : this.nextReqid + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private onData(chunk: Buffer): void {
    const { packets, error } = this.reader.push(chunk);
    for (const bytes of packets) {
      const parsed = ctdbPacketPull(bytes);
      if (!parsed.ok) {
        this.emit('protocolError', parsed.error);
        this.close();
        return;
      }
      const p = parsed.value;
      if (p.operation === 'reply_control') {
        const pending = this.pending.get(p.packet.header.reqid);
        if (!pending) continue; // a reply after its timeout
        this.pending.delete(p.packet.header.reqid);
        clearTimeout(pending.timer);
        if (p.packet.status < 0) {
          pending.reject(
            new CtdbControlError(pending.opcode, pending.destnode, p.packet.status, p.packet.error),
          );
        } else {
          pending.resolve({ status: p.packet.status, data: p.packet.data });
        }
      } else if (p.operation === 'req_message') {
        this.emit('message', { srvid: p.packet.srvid, data: p.packet.data });
      }
    }
    if (error) {
      this.emit('protocolError', error);
      this.close();
    }
  }
}
