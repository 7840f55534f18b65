import { EventEmitter } from 'node:events';
import { type SeqpacketCarrier, SeqpacketServer, type SocketTuple, socketTuple } from '../../native/index.js';
import type { ChannelRecord, Owner } from '../../statecharts/types.js';
import { prepareSocketPath } from '../socket-dir.js';
import {
  type ChannelReport,
  encodeWorkerMessage,
  type MccdToWorker,
  type WorkerToMccd,
} from '../worker/protocol.js';
import type { Backend, BackendEvents, HandoffRequest } from './backend.js';
import { type DestroyOutcome, describeDestroys, destroyChannels } from './destroy.js';
import { owns, type Refusal, rememberLate, teardownSeq } from './worker-conduct.js';
import { serveWorkerConnection, type Worker } from './worker-session.js';

export interface WorkerBackendOptions {
  socketPath: string;
  pnn: () => number;
  /** NETWORK_INTERFACE_INFO for a connection arriving on `localAddress`. */
  interfacesFor: (localAddress?: string) => Uint8Array;
  /** How long a teardown waits for the worker's ack before destroying the sockets itself. */
  teardownAckMs?: number;
  /** uid allowed to register besides root (default: mccd's own uid). */
  allowedUid?: number;
  /** Bad messages per minute after which a worker connection is cut off (default BAD_MESSAGE_LIMIT). */
  badMessageLimit?: number;
  /**
   * After mccd restarted: whether a client a re-registering worker reports (`held`) is one mccd restored
   * with that owner and those channels (true), or why not (it is then ordered torn down).
   */
  judgeHeld?: (ownerId: string, clientGuid: string, channels: HeldChannel[]) => true | string;
}

export interface HeldChannel {
  channelId: number;
  tuple: SocketTuple;
}

/**
 * Backend of worker processes on mccd's unix SOCK_SEQPACKET socket (mode 0600, SO_PEERCRED uid check).
 * A client's first channel picks the worker with the fewest clients; its later channels follow it.
 */
export class WorkerBackend extends EventEmitter<BackendEvents> implements Backend {
  readonly kind = 'worker' as const;
  private server: SeqpacketServer | undefined;
  private readonly workers = new Map<string, Worker>();

  constructor(private readonly options: WorkerBackendOptions) {
    super();
  }

  async start(): Promise<void> {
    prepareSocketPath(this.options.socketPath, 'backend.socket');
    this.server = new SeqpacketServer(this.options.socketPath, {
      mode: 0o600,
      maxBytes: 128 * 1024,
      maxFds: 4,
      // Each queued handoff holds a client's fd: a worker that stops reading must not make mccd hold
      // every fd sent its way. Beyond this (4 s of a 1,000/s churn) the handoff fails and the connection
      // is closed; the fds fit in the quarter of the open-file limit kept out of the pending bounds.
      maxQueued: 4096,
    });
    this.server.on('connection', (carrier) => this.onConnection(carrier));
    // Out of fds or a listener that cannot be polled: logged and counted, never a reason to die.
    const failed = (e: Error & { code?: string }) =>
      this.emit('accept-error', { listener: 'worker', code: e.code ?? 'EUNKNOWN', message: e.message });
    this.server.on('accept-error', failed);
    this.server.on('error', failed);
  }

  async stop(): Promise<void> {
    this.server?.close();
    // Forgotten first: a worker's connection closing on mccd's stop is not the worker going away
    // (it keeps its channels and re-registers with the next mccd), so no owner-gone may follow.
    const workers = [...this.workers.values()];
    this.workers.clear();
    for (const w of workers) w.carrier.close();
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

  /** Workers report what they kept themselves (`held`); nothing to adopt from outside. */
  adopt(): void {}

  clientGone(clientGuid: string): void {
    for (const w of this.workers.values()) {
      w.clients.delete(clientGuid);
      w.late.delete(clientGuid);
    }
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
    // Recorded before the send: the worker may report on the channel as soon as it has the fd.
    const channels = worker.clients.get(request.clientGuid) ?? new Set<number>();
    channels.add(request.channelId);
    worker.clients.set(request.clientGuid, channels);
    try {
      await worker.carrier.send(encodeWorkerMessage(message), [c.fd]);
    } catch (error) {
      channels.delete(request.channelId);
      throw error;
    } finally {
      // The worker has its own copy now (or the send failed): ours goes either way.
      c.close();
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
      // Random and kept with this worker: no other process can answer for it, and no guess can.
      const seq = teardownSeq();
      const acked = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.options.teardownAckMs ?? 2000);
        worker.teardowns.set(clientGuid, {
          seq,
          done: () => {
            clearTimeout(timer);
            resolve(true);
          },
        });
      });
      worker.carrier
        .send(encodeWorkerMessage({ t: 'teardown', clientGuid, seq, reason }))
        .catch(this.sendFailed('teardown order', worker.id));
      const ok = await acked;
      if (worker.teardowns.get(clientGuid)?.seq === seq) worker.teardowns.delete(clientGuid);
      if (!ok) rememberLate(worker, clientGuid, seq);
      worker.clients.delete(clientGuid);
      if (ok) return undefined;
    }
    // No worker, or it did not answer: kill the connections by 4-tuple.
    const outcome = describeDestroys(channels, destroyChannels(channels));
    for (const f of outcome.failed) this.emit('destroy-failed', { clientGuid, ...f });
    return outcome;
  }

  /** A resuming worker's report of what it kept while mccd was away (docs/restart.md). */
  private onHeld(worker: Worker, m: Extract<WorkerToMccd, { t: 'held' | 'held-done' }>): Refusal | undefined {
    if (!worker.resuming) return ['not-resuming', `${m.t} from a worker that did not register as resuming`];
    if (m.t === 'held-done') {
      worker.resuming = false;
      this.emit('owner-back', { ownerId: worker.id, clients: m.clients });
      return undefined;
    }
    const channels = m.channels.map((c) => ({
      channelId: c.channelId,
      tuple: socketTuple(c.local, c.remote),
    }));
    const verdict = this.options.judgeHeld?.(worker.id, m.clientGuid, channels) ?? 'mccd restored no clients';
    if (verdict === true) {
      // A client with many channels comes in several reports: they add up.
      const held = worker.clients.get(m.clientGuid) ?? new Set<number>();
      for (const c of channels) held.add(c.channelId);
      worker.clients.set(m.clientGuid, held);
      return undefined;
    }
    // Not ours to keep: the worker closes it; its answer is expected, so it is remembered as late.
    const seq = teardownSeq();
    rememberLate(worker, m.clientGuid, seq);
    worker.carrier
      .send(
        encodeWorkerMessage({
          t: 'teardown',
          clientGuid: m.clientGuid,
          seq,
          reason: `unmatched after restart: ${verdict}`.slice(0, 200),
        }),
      )
      .catch(this.sendFailed('teardown order', worker.id));
    return undefined;
  }

  /** A `.catch` for a send nothing waits for: reported, so the coordinator logs and counts it. */
  private sendFailed(what: string, ownerId: string | undefined): (error: Error) => void {
    return (error) => this.emit('send-failed', { what, ownerId, error });
  }

  private onConnection(carrier: SeqpacketCarrier): void {
    serveWorkerConnection(carrier, {
      allowedUid: this.options.allowedUid ?? process.getuid?.() ?? 0,
      badMessageLimit: this.options.badMessageLimit,
      pnn: this.options.pnn,
      workers: this.workers,
      events: this,
      sendFailed: (what, ownerId) => this.sendFailed(what, ownerId),
      onMessage: (worker, m) => this.onWorkerMessage(worker, m),
    });
  }

  /** Acts on a registered worker's message, or says why it is refused. */
  private onWorkerMessage(
    worker: Worker,
    m: Exclude<WorkerToMccd, { t: 'register' }>,
  ): Refusal | Refusal[] | undefined {
    if (m.t === 'interfaces-request') {
      const data = Buffer.from(this.options.interfacesFor(m.localAddress)).toString('base64');
      worker.carrier
        .send(encodeWorkerMessage({ t: 'interfaces', reqId: m.reqId, data }))
        .catch(this.sendFailed('interface list answer', worker.id));
      return undefined;
    }
    if (m.t === 'teardown-done') {
      const pending = worker.teardowns.get(m.clientGuid);
      if (pending?.seq === m.seq) {
        worker.teardowns.delete(m.clientGuid);
        pending.done();
        return undefined;
      }
      if (worker.late.get(m.clientGuid) === m.seq) {
        worker.late.delete(m.clientGuid);
        return undefined;
      }
      return [
        'unknown-teardown',
        `teardown-done ${m.seq} for ${m.clientGuid}: no such order was sent to you`,
      ];
    }
    if (m.t === 'held' || m.t === 'held-done') return this.onHeld(worker, m);
    if (m.t !== 'reports') return this.onReport(worker, m);
    if (worker.version < 2)
      return ['malformed', `reports needs protocol version 2; you registered with ${worker.version}`];
    // Each report is judged as if it had come alone: one refusal each, the rest still acted on.
    const refusals: Refusal[] = [];
    for (const r of m.reports) {
      const refusal = this.onReport(worker, r);
      if (refusal) refusals.push(refusal);
    }
    return refusals;
  }

  /** A report on one channel: only about a channel this worker was handed. */
  private onReport(worker: Worker, m: ChannelReport): Refusal | undefined {
    if (!owns(worker, m.clientGuid, m.channelId))
      return ['not-owner', `${m.t}: channel ${m.channelId} of ${m.clientGuid} was not handed to you`];
    if (m.t === 'negotiated')
      this.emit('negotiated', { clientGuid: m.clientGuid, channelId: m.channelId, dialect: m.dialect });
    else if (m.t === 'bound') this.emit('bound', { clientGuid: m.clientGuid, channelId: m.channelId });
    else {
      worker.clients.get(m.clientGuid)?.delete(m.channelId);
      this.emit('channel-closed', { clientGuid: m.clientGuid, channelId: m.channelId });
    }
    return undefined;
  }
}
