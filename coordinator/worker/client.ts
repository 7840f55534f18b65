import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { closeFd, connectCarrier, type SeqpacketCarrier } from '../../native/index.js';
import {
  type ChannelReport,
  decodeMccdToWorker,
  encodeWorkerMessage,
  MAX_HELD_CHANNELS,
  MAX_REPORTS,
  type MccdToWorker,
  WORKER_PROTOCOL_VERSION,
  type WorkerToMccd,
} from './protocol.js';

/** A connection handed over by mccd: the socket now belongs to the worker. */
export interface ChannelHandoff {
  clientGuid: string;
  channelId: number;
  connectTime: number;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  /** The NEGOTIATE mccd peeked (transport header included); the socket still delivers it first. */
  negotiate: Buffer;
  socket: Socket;
}

export interface WorkerClientEvents {
  channel: [ChannelHandoff];
  teardown: [{ clientGuid: string; reason: string }];
  /** mccd went away (or closed us); every channel stays with the worker. */
  close: [];
  protocolError: [Error];
  registered: [];
  /** A report or ack to mccd could not be sent (nothing waits for it; mccd's own timeout covers acks). */
  sendFailed: [{ what: string; error: Error }];
}

interface HeldChannel {
  socket: Socket;
  local: { address: string; port: number };
  remote: { address: string; port: number };
}

/**
 * The worker side of the protocol, for backends written in TypeScript: register, receive channels with
 * their fds, report state, and obey teardown orders (every socket of the client is destroyed, then acked).
 * When mccd goes away the channels stay here; resume() registers with the next mccd and reports them.
 */
export class WorkerClient extends EventEmitter<WorkerClientEvents> {
  private readonly sockets = new Map<string, Map<number, HeldChannel>>();
  private readonly pendingInterfaces = new Map<number, (data: Buffer) => void>();
  private nextReqId = 1;
  private carrier: SeqpacketCarrier;
  private registeredOn: SeqpacketCarrier | undefined;
  /** Channel reports of this turn of the event loop, sent as one `reports` message (version 2). */
  private reports: ChannelReport[] = [];
  private flushScheduled = false;
  /** The version offered in the register in flight: a version 1 mccd refuses 2, and 1 is offered next. */
  private offered: 1 | 2 = WORKER_PROTOCOL_VERSION;
  pnn = -1;
  /** The protocol version mccd serves this worker (from `registered`). */
  version: 1 | 2 = 1;

  private constructor(
    carrier: SeqpacketCarrier,
    readonly workerId: string,
  ) {
    super();
    this.carrier = carrier;
    this.attach(carrier);
  }

  static async connect(socketPath: string, workerId: string, timeoutMs = 5000): Promise<WorkerClient> {
    const carrier = connectCarrier(socketPath, { maxBytes: 128 * 1024, maxFds: 4 });
    const client = new WorkerClient(carrier, workerId);
    await client.register(false, timeoutMs);
    return client;
  }

  /**
   * After mccd went away: connects to the (restarted) mccd under the same id and reports every channel
   * still held, one `held` per client, then `held-done`. Throws when mccd is not there (yet); the
   * caller retries within its own bound.
   */
  async resume(socketPath: string, timeoutMs = 2000): Promise<{ clients: number; channels: number }> {
    const carrier = connectCarrier(socketPath, { maxBytes: 128 * 1024, maxFds: 4 });
    this.carrier = carrier;
    // Reports meant for the mccd that went away: the next one learns what is still open from `held`.
    this.reports = [];
    this.attach(carrier);
    await this.register(true, timeoutMs);
    let channels = 0;
    for (const [clientGuid, held] of this.sockets) {
      if (held.size === 0) continue;
      const list = [...held].map(([channelId, h]) => ({ channelId, local: h.local, remote: h.remote }));
      channels += list.length;
      for (let i = 0; i < list.length; i += MAX_HELD_CHANNELS)
        await this.send({ t: 'held', clientGuid, channels: list.slice(i, i + MAX_HELD_CHANNELS) });
    }
    await this.send({ t: 'held-done', clients: this.sockets.size });
    return { clients: this.sockets.size, channels };
  }

  private attach(carrier: SeqpacketCarrier): void {
    carrier.on('message', ({ data, fds }) => this.onMessage(data, fds));
    // Only the end of a registered connection is mccd going away; a failed attempt is the caller's to retry.
    carrier.on('close', () => {
      if (carrier === this.carrier && this.registeredOn === carrier) this.emit('close');
    });
  }

  private register(resuming: boolean, timeoutMs: number): Promise<void> {
    const carrier = this.carrier;
    const registered = new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.off('registered', ok);
        carrier.off('close', closed);
        if (error) {
          carrier.close();
          reject(error);
        } else {
          this.registeredOn = carrier;
          resolve();
        }
      };
      const ok = () => done();
      const closed = () => done(new Error('mccd closed the worker connection during registration'));
      const timer = setTimeout(
        () => done(new Error(`mccd did not accept registration within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.once('registered', ok);
      carrier.once('close', closed);
    });
    this.offered = WORKER_PROTOCOL_VERSION;
    this.resumingOffer = resuming;
    return this.sendRegister().then(() => registered);
  }

  private resumingOffer = false;

  private sendRegister(): Promise<void> {
    return this.carrier.send(
      encodeWorkerMessage({
        t: 'register',
        version: this.offered,
        workerId: this.workerId,
        ...(this.resumingOffer ? { resuming: true } : {}),
      }),
    );
  }

  /** Sends a message after every report queued before it, so mccd sees them in the order they happened. */
  send(message: WorkerToMccd): Promise<void> {
    this.flushReports();
    return this.carrier.send(encodeWorkerMessage(message));
  }

  /**
   * A channel report: alone with protocol version 1; with 2, gathered until the event loop's turn ends
   * and sent as one `reports` message (one datagram, one wake-up of mccd, for every channel of the turn).
   */
  private report(r: ChannelReport): void {
    // mccd went away: the next one learns from `held` what is still open.
    if (this.carrier.isClosed) return;
    if (this.version < 2) {
      this.sendUnawaited(r.t, r);
      return;
    }
    this.reports.push(r);
    if (this.reports.length >= MAX_REPORTS) this.flushReports();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushReports();
      });
    }
  }

  private flushReports(): void {
    if (this.reports.length === 0 || this.carrier.isClosed) return;
    const batch = this.reports;
    this.reports = [];
    const message: WorkerToMccd = batch.length === 1 ? batch[0]! : { t: 'reports', reports: batch };
    this.carrier
      .send(encodeWorkerMessage(message))
      .catch((error: Error) => this.emit('sendFailed', { what: `${batch.length} report(s)`, error }));
  }

  private sendUnawaited(what: string, message: WorkerToMccd): void {
    this.send(message).catch((error: Error) => this.emit('sendFailed', { what, error }));
  }

  reportNegotiated(clientGuid: string, channelId: number, dialect: number): void {
    this.report({ t: 'negotiated', clientGuid, channelId, dialect });
  }

  reportBound(clientGuid: string, channelId: number): void {
    this.report({ t: 'bound', clientGuid, channelId });
  }

  /** Asks mccd for the NETWORK_INTERFACE_INFO answer for a connection arriving on `localAddress`. */
  async interfaces(localAddress?: string, timeoutMs = 5000): Promise<Buffer> {
    const reqId = this.nextReqId++;
    const answer = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingInterfaces.delete(reqId);
        reject(new Error('mccd did not answer the interfaces request'));
      }, timeoutMs);
      this.pendingInterfaces.set(reqId, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
    });
    await this.send({ t: 'interfaces-request', reqId, ...(localAddress ? { localAddress } : {}) });
    return answer;
  }

  channelCount(): number {
    let n = 0;
    for (const m of this.sockets.values()) n += m.size;
    return n;
  }

  close(): void {
    for (const m of this.sockets.values()) for (const h of m.values()) h.socket.destroy();
    this.sockets.clear();
    this.carrier.close();
  }

  private onMessage(data: Buffer, fds: number[]): void {
    const parsed = decodeMccdToWorker(data);
    if (!parsed.ok) {
      for (const fd of fds) closeFd(fd);
      this.emit('protocolError', parsed.error);
      return;
    }
    const m: MccdToWorker = parsed.value;
    switch (m.t) {
      case 'registered':
        this.pnn = m.pnn;
        this.version = m.version ?? 1;
        this.emit('registered');
        break;
      case 'channel': {
        const fd = fds[0];
        for (const extra of fds.slice(1)) closeFd(extra);
        if (fd === undefined) {
          this.emit('protocolError', new Error(`channel ${m.channelId} arrived without its fd`));
          return;
        }
        const socket = new Socket({ fd, readable: true, writable: true });
        const byChannel = this.sockets.get(m.clientGuid) ?? new Map<number, HeldChannel>();
        byChannel.set(m.channelId, { socket, local: m.local, remote: m.remote });
        this.sockets.set(m.clientGuid, byChannel);
        socket.on('error', () => undefined);
        socket.once('close', () => {
          const current = this.sockets.get(m.clientGuid);
          if (current?.get(m.channelId)?.socket === socket) {
            current.delete(m.channelId);
            if (current.size === 0) this.sockets.delete(m.clientGuid);
            this.report({ t: 'channel-closed', clientGuid: m.clientGuid, channelId: m.channelId });
          }
        });
        this.emit('channel', {
          clientGuid: m.clientGuid,
          channelId: m.channelId,
          connectTime: m.connectTime,
          local: m.local,
          remote: m.remote,
          negotiate: Buffer.from(m.negotiate, 'base64'),
          socket,
        });
        break;
      }
      case 'teardown': {
        const channels = this.sockets.get(m.clientGuid);
        this.sockets.delete(m.clientGuid);
        for (const h of channels?.values() ?? []) h.socket.destroy();
        this.emit('teardown', { clientGuid: m.clientGuid, reason: m.reason });
        this.sendUnawaited('teardown-done', { t: 'teardown-done', clientGuid: m.clientGuid, seq: m.seq });
        break;
      }
      case 'interfaces': {
        const resolve = this.pendingInterfaces.get(m.reqId);
        this.pendingInterfaces.delete(m.reqId);
        resolve?.(Buffer.from(m.data, 'base64'));
        break;
      }
      case 'error':
        // A version 1 mccd refuses a register offering 2 (and keeps the connection): offer 1 instead.
        // (its refusal names the field: "worker message: version: Invalid literal value, expected 1").
        if (this.registeredOn !== this.carrier && this.offered === 2 && / version: /.test(m.message)) {
          this.offered = 1;
          this.sendRegister().catch((error: Error) => this.emit('protocolError', error));
          break;
        }
        this.emit('protocolError', new Error(`mccd: ${m.message}`));
        break;
    }
  }
}
