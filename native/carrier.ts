import { EventEmitter } from 'node:events';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { addon, type RawFdWatcher } from './addon.js';
import { call, NativeError } from './errors.js';

/** One message off a carrier: bytes plus the fds that came with it (owned by the receiver now). */
export interface CarrierMessage {
  data: Buffer;
  fds: number[];
}

const READABLE = 1 as const;
/** Readable and writable: used while sends wait for room. */
const READABLE_WRITABLE = 3 as const;
/** Messages handled per readiness callback, so one busy carrier cannot starve the event loop. */
const RECV_BATCH = 64;
/** Messages waiting for room before send() refuses: each may hold fds the receiver has not taken yet. */
const DEFAULT_MAX_QUEUED = 1024;

export interface CarrierEvents {
  message: [CarrierMessage];
  /** A message was dropped (MSG_CTRUNC / MSG_TRUNC); its fds were closed. The carrier stays usable. */
  dropped: [NativeError];
  close: [];
  error: [Error];
}

/**
 * A unix SOCK_SEQPACKET connection carrying messages with SCM_RIGHTS fds. Receiving is driven by a
 * uv_poll watcher; libuv never reads the socket itself. Sent fds stay owned by the sender.
 */
export class SeqpacketCarrier extends EventEmitter<CarrierEvents> {
  private watcher: RawFdWatcher | undefined;
  private closed = false;
  private readonly queue: {
    data: Uint8Array;
    fds: number[];
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  private readonly maxBytes: number;
  private readonly maxFds: number;
  private readonly maxQueued: number;

  constructor(
    readonly fd: number,
    options: { maxBytes?: number; maxFds?: number; maxQueued?: number } = {},
  ) {
    super();
    this.maxBytes = options.maxBytes ?? 65536;
    this.maxFds = options.maxFds ?? 16;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.watcher = call(
      () => new addon.FdWatcher(fd, (error, readable, writable) => this.onReady(error, readable, writable)),
    );
    this.watcher.start(READABLE);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one message; waits for room if the carrier is full. Rejects if the carrier closes first. */
  send(data: Uint8Array, fds: number[] = []): Promise<void> {
    if (this.closed) return Promise.reject(new NativeError('carrier is closed', 9, 'EBADF', 'sendmsg'));
    if (this.queue.length === 0) {
      try {
        if (call(() => addon.sendFds(this.fd, data, fds)) >= 0) return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    // A peer that stops reading must not make this process hold every fd sent its way.
    if (this.queue.length >= this.maxQueued)
      return Promise.reject(
        new NativeError(
          `carrier send queue full (${this.maxQueued} messages waiting)`,
          105,
          'ENOBUFS',
          'sendmsg',
        ),
      );
    return new Promise((resolve, reject) => {
      this.queue.push({ data, fds, resolve, reject });
      this.watcher?.start(READABLE_WRITABLE);
    });
  }

  /** Stops polling and closes the fd. Pending sends are rejected. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    for (const pending of this.queue.splice(0))
      pending.reject(new NativeError('carrier closed', 9, 'EBADF', 'sendmsg'));
    call(() => addon.closeFd(this.fd));
    this.emit('close');
  }

  /** Lets the process exit while this carrier is idle. */
  unref(): void {
    this.watcher?.unref();
  }

  private onReady(error: string | null, readable: boolean, writable: boolean): void {
    if (this.closed) return;
    if (error) {
      this.fail(new NativeError(`carrier poll failed: ${error}`, 5, error, 'uv_poll'));
      return;
    }
    if (writable) this.flush();
    if (readable) this.drain();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0]!;
      let sent: number;
      try {
        sent = call(() => addon.sendFds(this.fd, head.data, head.fds));
      } catch (error) {
        this.queue.shift();
        head.reject(error as Error);
        continue;
      }
      if (sent < 0) return;
      this.queue.shift();
      head.resolve();
    }
    if (!this.closed) this.watcher?.start(READABLE);
  }

  private drain(): void {
    for (let i = 0; i < RECV_BATCH && !this.closed; i++) {
      let message: ReturnType<typeof addon.recvFds>;
      try {
        message = call(() => addon.recvFds(this.fd, this.maxBytes, this.maxFds));
      } catch (error) {
        if (error instanceof NativeError && (error.code === 'MSG_CTRUNC' || error.code === 'MSG_TRUNC')) {
          this.emit('dropped', error);
          continue;
        }
        this.fail(error as Error);
        return;
      }
      if (message === null) return;
      if (message.eof) {
        this.close();
        return;
      }
      this.emit('message', { data: message.data, fds: message.fds });
    }
  }

  private fail(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.close();
  }
}

export function carrierPair(): [SeqpacketCarrier, SeqpacketCarrier] {
  const [a, b] = call(() => addon.seqpacketPair());
  return [new SeqpacketCarrier(a), new SeqpacketCarrier(b)];
}

export function connectCarrier(
  path: string,
  options?: { maxBytes?: number; maxFds?: number },
): SeqpacketCarrier {
  const fd = call(() => addon.seqpacketConnect(path));
  return new SeqpacketCarrier(fd, options);
}

/** Errors of accept that mean "no room right now", not "this listener is broken". */
const TRANSIENT_ACCEPT_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
const ACCEPT_BACKOFF_MIN_MS = 50;
const ACCEPT_BACKOFF_MAX_MS = 1000;

/**
 * A listening unix SOCK_SEQPACKET socket; emits 'connection' with a carrier per accepted peer. When accept
 * runs out of fds it stops watching (a level-triggered listener would spin), emits 'accept-error', and
 * tries again after a back-off that doubles up to a second.
 */
export class SeqpacketServer extends EventEmitter<{
  connection: [SeqpacketCarrier];
  error: [Error];
  'accept-error': [NativeError];
}> {
  private watcher: RawFdWatcher | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = ACCEPT_BACKOFF_MIN_MS;
  readonly fd: number;

  constructor(
    readonly path: string,
    private readonly options: { mode?: number; backlog?: number; maxBytes?: number; maxFds?: number } = {},
  ) {
    super();
    // A stale socket file from a crashed run blocks bind; remove it, but never a non-socket file.
    if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
    // `mode` is applied through the umask at bind (never a chmod of the path, which follows symlinks).
    this.fd = call(() => addon.seqpacketListen(path, options.backlog ?? 128, options.mode ?? 0o600));
    this.watcher = call(
      () =>
        new addon.FdWatcher(this.fd, (error) => {
          if (error) {
            this.emit('error', new NativeError(`listener poll failed: ${error}`, 5, error, 'uv_poll'));
            return;
          }
          this.acceptSome();
        }),
    );
    this.watcher.start(READABLE);
  }

  close(): void {
    if (!this.watcher) return;
    clearTimeout(this.retry);
    this.watcher.close();
    this.watcher = undefined;
    call(() => addon.closeFd(this.fd));
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  private acceptSome(): void {
    for (let i = 0; i < RECV_BATCH; i++) {
      let client: number;
      try {
        client = call(() => addon.seqpacketAccept(this.fd));
      } catch (error) {
        const e = error as NativeError;
        if (!TRANSIENT_ACCEPT_ERRORS.has(e.code)) {
          this.emit('error', e);
          return;
        }
        this.watcher?.stop();
        this.emit('accept-error', e);
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.watcher?.start(READABLE);
        }, this.backoffMs);
        this.retry.unref();
        this.backoffMs = Math.min(this.backoffMs * 2, ACCEPT_BACKOFF_MAX_MS);
        return;
      }
      if (client < 0) return;
      this.backoffMs = ACCEPT_BACKOFF_MIN_MS;
      this.emit('connection', new SeqpacketCarrier(client, this.options));
    }
  }
}
