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

/**
 * A datagram is bounded by the socket's buffer (about 200 KB here) and by the receiver's read size, so,
 * as SMB-Direct does with its negotiated max send size and DataRemainingLength, a message larger than
 * one fragment travels as several datagrams: each starts with a 4-byte big-endian count of the message
 * bytes still to come after it, the last says 0. Fds ride on the first fragment only.
 */
export const FRAGMENT_BYTES = 60 * 1024;

/** Why a fragment cannot be taken, given what the message so far expects; undefined when it can. */
function fragmentProblem(
  datagramBytes: number,
  remaining: number,
  pieceBytes: number,
  fdCount: number,
  expected: number | undefined,
): string | undefined {
  if (remaining < 0) return `fragment of ${datagramBytes} bytes has no header`;
  if (expected === undefined)
    return pieceBytes + remaining > MAX_MESSAGE
      ? `message length ${pieceBytes + remaining} exceeds ${MAX_MESSAGE}`
      : undefined;
  if (fdCount > 0) return 'fds on a fragment after the first';
  if (expected !== pieceBytes + remaining)
    return `fragment says ${remaining} bytes follow, ${expected - pieceBytes} expected`;
  return undefined;
}

export class CarrierChannel
  extends EventEmitter<{ message: [Uint8Array, number[]]; close: []; error: [Error] }>
  implements MessageChannel
{
  readonly canPassFds = true;
  private assembling: { parts: Uint8Array[]; remaining: number; fds: number[] } | undefined;
  /** Fragments of two messages must not interleave: sends go out one message at a time. */
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly carrier: SeqpacketCarrier) {
    super();
    carrier.on('message', ({ data, fds }) => this.onFragment(data, fds));
    carrier.on('close', () => {
      this.discardPartial();
      this.emit('close');
    });
  }

  send(message: Uint8Array, fds: number[] = []): Promise<void> {
    if (message.byteLength > MAX_MESSAGE)
      return Promise.reject(new Error(`message length ${message.byteLength} exceeds ${MAX_MESSAGE}`));
    const next = this.sending.then(() => this.sendFragments(message, fds));
    this.sending = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.carrier.close();
  }

  private async sendFragments(message: Uint8Array, fds: number[]): Promise<void> {
    let sent = 0;
    do {
      const piece = message.subarray(sent, sent + FRAGMENT_BYTES);
      sent += piece.byteLength;
      const datagram = new Uint8Array(4 + piece.byteLength);
      new DataView(datagram.buffer).setUint32(0, message.byteLength - sent, false);
      datagram.set(piece, 4);
      await this.carrier.send(datagram, sent === piece.byteLength ? fds : []);
    } while (sent < message.byteLength);
  }

  private onFragment(data: Buffer, fds: number[]): void {
    const remaining = data.length >= 4 ? data.readUInt32BE(0) : -1;
    const piece = data.subarray(4);
    const partial = this.assembling;
    const problem = fragmentProblem(data.length, remaining, piece.length, fds.length, partial?.remaining);
    if (problem !== undefined) {
      for (const fd of fds) closeFd(fd);
      this.discardPartial();
      this.emit('error', new Error(problem));
      this.carrier.close();
      return;
    }
    if (partial === undefined && remaining === 0) {
      this.emit('message', piece, fds);
      return;
    }
    const current = partial ?? { parts: [], remaining: piece.length + remaining, fds };
    current.parts.push(piece);
    current.remaining = remaining;
    this.assembling = current;
    if (remaining > 0) return;
    this.assembling = undefined;
    this.emit('message', Buffer.concat(current.parts), current.fds);
  }

  private discardPartial(): void {
    for (const fd of this.assembling?.fds ?? []) closeFd(fd);
    this.assembling = undefined;
  }
}
