import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { SeqpacketCarrier } from '../native/index.js';
import { closeFd } from '../native/index.js';

/**
 * A message channel with the smbdirect socket's framing: every message is preceded by its length as a
 * 4-byte big-endian integer. Over TCP or a unix stream no fds travel; over a SOCK_SEQPACKET carrier a
 * message can carry fds (the shared-memory transport registers memfds that way).
 */
export const MAX_MESSAGE = 80 * 1024 * 1024;

export interface MessageChannel
  extends EventEmitter<{ message: [Uint8Array, number[]]; close: []; error: [Error] }> {
  readonly canPassFds: boolean;
  send(message: Uint8Array, fds?: number[]): Promise<void>;
  close(): void;
}

function framed(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + message.byteLength);
  new DataView(out.buffer).setUint32(0, message.byteLength, false);
  out.set(message, 4);
  return out;
}

export class StreamChannel
  extends EventEmitter<{ message: [Uint8Array, number[]]; close: []; error: [Error] }>
  implements MessageChannel
{
  readonly canPassFds = false;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly socket: Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.emit('close'));
    socket.on('error', (e) => this.emit('error', e));
  }

  send(message: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(framed(message), (e) => (e ? reject(e) : resolve()));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    while (this.buffered >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [head];
      const length = head.readUInt32BE(0);
      if (length > MAX_MESSAGE) {
        this.emit('error', new Error(`message length ${length} exceeds ${MAX_MESSAGE}`));
        this.socket.destroy();
        return;
      }
      if (head.length < 4 + length) return;
      this.emit('message', head.subarray(4, 4 + length), []);
      const rest = head.subarray(4 + length);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
  }
}

export class CarrierChannel
  extends EventEmitter<{ message: [Uint8Array, number[]]; close: []; error: [Error] }>
  implements MessageChannel
{
  readonly canPassFds = true;

  constructor(private readonly carrier: SeqpacketCarrier) {
    super();
    carrier.on('message', ({ data, fds }) => {
      const length = data.length >= 4 ? data.readUInt32BE(0) : -1;
      if (length !== data.length - 4) {
        for (const fd of fds) closeFd(fd);
        this.emit('error', new Error(`datagram says ${length} bytes but carries ${data.length - 4}`));
        return;
      }
      this.emit('message', data.subarray(4), fds);
    });
    carrier.on('close', () => this.emit('close'));
  }

  send(message: Uint8Array, fds: number[] = []): Promise<void> {
    return this.carrier.send(framed(message), fds);
  }

  close(): void {
    this.carrier.close();
  }
}
