import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { closeFd, connectCarrier, type SeqpacketCarrier } from '../../native/index.js';
import {
  decodeMccdToWorker,
  encodeWorkerMessage,
  MAX_HELD_CHANNELS,
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
  pnn = -1;

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
    return this.send({
      t: 'register',
      version: WORKER_PROTOCOL_VERSION,
      workerId: this.workerId,
      ...(resuming ? { resuming } : {}),
    }).then(() => registered);
  }

  send(message: WorkerToMccd): Promise<void> {
    return this.carrier.send(encodeWorkerMessage(message));
  }

  private sendUnawaited(what: string, message: WorkerToMccd): void {
    this.send(message).catch((error: Error) => this.emit('sendFailed', { what, error }));
  }

  reportNegotiated(clientGuid: string, channelId: number, dialect: number): void {
    this.sendUnawaited('negotiated', { t: 'negotiated', clientGuid, channelId, dialect });
  }

  reportBound(clientGuid: string, channelId: number): void {
    this.sendUnawaited('bound', { t: 'bound', clientGuid, channelId });
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
            this.send({ t: 'channel-closed', clientGuid: m.clientGuid, channelId: m.channelId }).catch(
              () => undefined,
            );
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
        this.emit('protocolError', new Error(`mccd: ${m.message}`));
        break;
    }
  }
}
