import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { closeFd, peerCred, type SeqpacketCarrier, SeqpacketServer } from '../../native/index.js';
import type { ChannelRecord, Owner } from '../../statecharts/types.js';
import { decodeWorkerToMccd, encodeWorkerMessage, type MccdToWorker } from '../worker/protocol.js';
import type { Backend, BackendEvents, HandoffRequest } from './backend.js';
import { type DestroyOutcome, describeDestroys, destroyChannels } from './destroy.js';

interface Worker {
  id: string;
  pid: number;
  carrier: SeqpacketCarrier;
  clients: Set<string>;
}

export interface WorkerBackendOptions {
  socketPath: string;
  pnn: () => number;
  /** NETWORK_INTERFACE_INFO for a connection arriving on `localAddress`. */
  interfacesFor: (localAddress?: string) => Uint8Array;
  /** How long a teardown waits for the worker's ack before destroying the sockets itself. */
  teardownAckMs?: number;
  /** uid allowed to register besides root (default: mccd's own uid). */
  allowedUid?: number;
}

/**
 * Backend of worker processes on mccd's unix SOCK_SEQPACKET socket (mode 0600, SO_PEERCRED uid check).
 * A client's first channel picks the worker with the fewest clients; its later channels follow it.
 */
export class WorkerBackend extends EventEmitter<BackendEvents> implements Backend {
  readonly kind = 'worker' as const;
  private server: SeqpacketServer | undefined;
  private readonly workers = new Map<string, Worker>();
  private readonly pendingTeardowns = new Map<string, () => void>();
  private seq = 0;

  constructor(private readonly options: WorkerBackendOptions) {
    super();
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.options.socketPath), { recursive: true, mode: 0o700 });
    this.server = new SeqpacketServer(this.options.socketPath, {
      mode: 0o600,
      maxBytes: 128 * 1024,
      maxFds: 4,
    });
    this.server.on('connection', (carrier) => this.onConnection(carrier));
  }

  async stop(): Promise<void> {
    this.server?.close();
    for (const w of this.workers.values()) w.carrier.close();
    this.workers.clear();
  }

  workerCount(): number {
    return this.workers.size;
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      socket: this.options.socketPath,
      workers: [...this.workers.values()].map((w) => ({ id: w.id, pid: w.pid, clients: w.clients.size })),
    };
  }

  clientGone(clientGuid: string): void {
    for (const w of this.workers.values()) w.clients.delete(clientGuid);
  }

  chooseOwner(): Owner | undefined {
    let best: Worker | undefined;
    for (const w of this.workers.values()) if (!best || w.clients.size < best.clients.size) best = w;
    return best ? { kind: 'worker', id: best.id, pid: best.pid } : undefined;
  }

  async handOff(owner: Owner, request: HandoffRequest): Promise<void> {
    const worker = this.workers.get(owner.id);
    if (!worker) throw new Error(`worker ${owner.id} is gone`);
    const c = request.connection;
    const message: MccdToWorker = {
      t: 'channel',
      clientGuid: request.clientGuid,
      channelId: request.channelId,
      connectTime: c.acceptedAt,
      local: c.local,
      remote: c.remote,
      negotiate: c.negotiateBytes.toString('base64'),
    };
    try {
      await worker.carrier.send(encodeWorkerMessage(message), [c.fd]);
      worker.clients.add(request.clientGuid);
    } finally {
      // The worker has its own copy now (or the send failed): ours goes either way.
      c.socket.destroy();
    }
  }

  async teardown(
    clientGuid: string,
    owner: Owner | undefined,
    channels: ChannelRecord[],
    reason: string,
  ): Promise<DestroyOutcome | undefined> {
    const worker = owner ? this.workers.get(owner.id) : undefined;
    if (worker) {
      const seq = ++this.seq;
      const acked = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.options.teardownAckMs ?? 2000);
        this.pendingTeardowns.set(`${clientGuid}/${seq}`, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      worker.carrier
        .send(encodeWorkerMessage({ t: 'teardown', clientGuid, seq, reason }))
        .catch(this.sendFailed('teardown order', worker.id));
      const ok = await acked;
      this.pendingTeardowns.delete(`${clientGuid}/${seq}`);
      worker.clients.delete(clientGuid);
      if (ok) return undefined;
    }
    // No worker, or it did not answer: kill the connections by 4-tuple.
    const outcome = describeDestroys(channels, destroyChannels(channels));
    for (const f of outcome.failed) this.emit('destroy-failed', { clientGuid, ...f });
    return outcome;
  }

  /** A `.catch` for a send nothing waits for: reported, so the coordinator logs and counts it. */
  private sendFailed(what: string, ownerId: string | undefined): (error: Error) => void {
    return (error) => this.emit('send-failed', { what, ownerId, error });
  }

  private onConnection(carrier: SeqpacketCarrier): void {
    let cred: { pid: number; uid: number };
    try {
      cred = peerCred(carrier.fd);
    } catch {
      carrier.close();
      return;
    }
    const allowed = this.options.allowedUid ?? process.getuid?.() ?? 0;
    if (cred.uid !== 0 && cred.uid !== allowed) {
      carrier
        .send(encodeWorkerMessage({ t: 'error', message: `uid ${cred.uid} may not register` }))
        .finally(() => carrier.close());
      return;
    }
    let worker: Worker | undefined;
    carrier.on('message', ({ data, fds }) => {
      for (const fd of fds) closeFd(fd); // workers never send fds
      const parsed = decodeWorkerToMccd(data);
      if (!parsed.ok) {
        this.emit('protocol-error', {
          parser: 'worker',
          code: parsed.error.code,
          message: parsed.error.message,
        });
        carrier
          .send(encodeWorkerMessage({ t: 'error', message: parsed.error.message }))
          .catch(this.sendFailed('protocol error report', worker?.id));
        return;
      }
      const m = parsed.value;
      if (m.t === 'register') {
        if (worker || this.workers.has(m.workerId)) {
          carrier
            .send(encodeWorkerMessage({ t: 'error', message: `worker id ${m.workerId} is taken` }))
            .finally(() => carrier.close());
          return;
        }
        worker = { id: m.workerId, pid: cred.pid, carrier, clients: new Set() };
        this.workers.set(m.workerId, worker);
        carrier
          .send(encodeWorkerMessage({ t: 'registered', workerId: m.workerId, pnn: this.options.pnn() }))
          .catch(this.sendFailed('registration answer', m.workerId));
        return;
      }
      if (!worker) {
        this.emit('protocol-error', {
          parser: 'worker',
          code: 'BAD_VALUE',
          message: `${m.t} before register`,
        });
        carrier.close();
        return;
      }
      switch (m.t) {
        case 'negotiated':
          this.emit('negotiated', { clientGuid: m.clientGuid, channelId: m.channelId, dialect: m.dialect });
          break;
        case 'bound':
          this.emit('bound', { clientGuid: m.clientGuid, channelId: m.channelId });
          break;
        case 'channel-closed':
          this.emit('channel-closed', { clientGuid: m.clientGuid, channelId: m.channelId });
          break;
        case 'teardown-done':
          this.pendingTeardowns.get(`${m.clientGuid}/${m.seq}`)?.();
          break;
        case 'interfaces-request': {
          const data = Buffer.from(this.options.interfacesFor(m.localAddress)).toString('base64');
          carrier
            .send(encodeWorkerMessage({ t: 'interfaces', reqId: m.reqId, data }))
            .catch(this.sendFailed('interface list answer', worker.id));
          break;
        }
      }
    });
    carrier.on('close', () => {
      if (worker && this.workers.get(worker.id) === worker) {
        this.workers.delete(worker.id);
        this.emit('owner-gone', {
          ownerId: worker.id,
          reason: `worker ${worker.id} (pid ${worker.pid}) disconnected`,
        });
      }
    });
  }
}
