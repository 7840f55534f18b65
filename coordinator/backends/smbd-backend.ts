import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { InterfacesProblem } from '../../ifdiscovery/smbconf-audit.js';
import {
  listTcpSockets,
  peerStillThere,
  type SocketTuple,
  socketTuple,
  socketTupleLabel,
  TCP_STATES_OPEN,
} from '../../native/index.js';
import type { ChannelRecord, Owner } from '../../statecharts/types.js';
import { type Backend, type BackendEvents, HandoffRefused, type HandoffRequest } from './backend.js';
import { type DestroyOutcome, describeDestroys, destroyChannels } from './destroy.js';
import { InterfacesAudit } from './smbd-interfaces-audit.js';
import { SmbdPool } from './smbd-pool.js';

export interface SmbdBackendOptions {
  smbdPath?: string;
  configFile: string;
  logDir: string;
  extraArgs?: string[];
  /** Ports the front door listens on: channels are reconciled against the kernel's socket table there. */
  ports: () => number[];
  reconcileMs?: number;
  /** Kill spawned smbd processes on stop (tests); by default they keep serving, as under inetd. */
  killOnStop?: boolean;
  /** Pre-started smbd processes (0: spawn per connection). */
  pool?: { size: number; startupTimeoutMs: number };
  /** The cluster's public IPs: smbd's `interfaces =` line is audited against them (smbconf-audit). */
  publicIps?: { addresses(): string[]; on(event: 'changed', listener: () => void): unknown };
  /** Connections waiting for a pool member at most (limits.maxWaitingForOwner). */
  maxWaiting?: number;
}

/**
 * Real Samba: each connection is given to a fresh `smbd -i` (inetd mode) as fd 0, in its own session.
 * The NEGOTIATE was only peeked, so smbd reads it itself; smbd's own multi-channel passing gathers a
 * client's channels into one smbd. smbd has no API to end a client, so teardown is SOCK_DESTROY by 4-tuple.
 */
interface Tracked {
  clientGuid: string;
  channelId: number;
  since: number;
}

/** What only the smbd backend has to say, beside what every backend says (BackendEvents). */
export interface SmbdEvents {
  /** How a connection reached smbd (a pre-started pool member, or a fresh inetd spawn). */
  handoff: [{ path: 'pool' | 'spawn' | 'pool-empty' }];
  /** A pool zygote or member failed to start or died waiting; it is replaced. */
  'pool-failure': [{ reason: string }];
  /** The pool stopped keeping members ready (ctdbd lost) and killed its idle ones. */
  'pool-paused': [{ reason: string; idleMembersKilled: number }];
  /** smbd's `interfaces =` line judged again, with a different result than before ([] = fine). */
  'interfaces-audit': [InterfacesProblem[]];
}

export class SmbdBackend extends EventEmitter<BackendEvents> implements Backend {
  readonly smbdEvents = new EventEmitter<SmbdEvents>();
  readonly kind = 'smbd' as const;
  private readonly children = new Map<number, ChildProcess>();
  private readonly tracked = new Map<string, Tracked>();
  /** The keys of `tracked` by client: a client that goes is forgotten without a scan of every channel. */
  private readonly trackedByClient = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  spawned = 0;
  pooled = 0;
  pool: SmbdPool | undefined;
  private audit: InterfacesAudit | undefined;

  constructor(private readonly options: SmbdBackendOptions) {
    super();
  }

  async start(): Promise<void> {
    mkdirSync(this.options.logDir, { recursive: true });
    // Spawn mode (size 0) keeps the zygote too, with no members: a long-lived `smbd -i` that holds the
    // notify daemon name. Otherwise each spawned smbd is a notify daemon of its own for as long as it
    // lives, and with `clustering = yes` a fresh one does not know the watchers on other nodes: changes
    // made through it never reach them.
    this.pool = new SmbdPool({
      smbdPath: this.options.smbdPath ?? '/usr/sbin/smbd',
      configFile: this.options.configFile,
      logDir: this.options.logDir,
      extraArgs: this.options.extraArgs ?? [],
      size: this.options.pool?.size ?? 0,
      startupTimeoutMs: this.options.pool?.startupTimeoutMs ?? 15_000,
      ...(this.options.maxWaiting === undefined ? {} : { maxWaiting: this.options.maxWaiting }),
    });
    this.pool.on('member-failed', (reason) => this.smbdEvents.emit('pool-failure', { reason }));
    this.pool.on('paused', (e) => this.smbdEvents.emit('pool-paused', e));
    this.pool.start();
    if (this.options.publicIps) {
      this.audit = new InterfacesAudit(this.options.configFile, this.options.publicIps);
      this.audit.on('changed', (problems) => this.smbdEvents.emit('interfaces-audit', problems));
      await this.audit.start();
    }
    this.timer = setInterval(() => this.reconcile(), this.options.reconcileMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.audit?.stop();
    this.pool?.stop();
    if (this.options.killOnStop) {
      for (const [pid] of this.children) {
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  }

  clusterConnection(connected: boolean): void {
    if (connected) this.pool?.resume();
    else this.pool?.pause('lost ctdbd');
  }

  pids(): number[] {
    return [...this.children.keys()];
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      smbd: this.options.smbdPath ?? '/usr/sbin/smbd',
      config: this.options.configFile,
      running: this.children.size,
      ...(this.audit ? { interfacesAudit: this.audit.describe() } : {}),
      spawned: this.spawned,
      ...(this.pool
        ? {
            pool: {
              size: this.pool.size,
              ready: this.pool.readyCount(),
              zygote: this.pool.zygotePid() ?? null,
              paused: this.pool.isPaused(),
              zygoteStarts: this.pool.zygoteStarts,
              handedOff: this.pooled,
              failedStarts: this.pool.failedStarts,
            },
          }
        : {}),
    };
  }

  waitingCount(): number {
    return this.pool?.waitingCount() ?? 0;
  }

  adopt(clientGuid: string, channelId: number, tuple: SocketTuple): void {
    this.track(socketTupleLabel(tuple), clientGuid, channelId);
  }

  clientGone(clientGuid: string): void {
    const keys = this.trackedByClient.get(clientGuid);
    if (!keys) return;
    this.trackedByClient.delete(clientGuid);
    for (const k of keys) this.tracked.delete(k);
  }

  private track(key: string, clientGuid: string, channelId: number): void {
    const before = this.tracked.get(key);
    if (before && before.clientGuid !== clientGuid) this.untrack(key);
    this.tracked.set(key, { clientGuid, channelId, since: Date.now() });
    let keys = this.trackedByClient.get(clientGuid);
    if (!keys) {
      keys = new Set();
      this.trackedByClient.set(clientGuid, keys);
    }
    keys.add(key);
  }

  private untrack(key: string): Tracked | undefined {
    const t = this.tracked.get(key);
    if (!t) return undefined;
    this.tracked.delete(key);
    const keys = this.trackedByClient.get(t.clientGuid);
    if (keys?.delete(key) && keys.size === 0) this.trackedByClient.delete(t.clientGuid);
    return t;
  }

  chooseOwner(): Owner {
    // smbd decides which of its processes keeps a client (its own connection passing); mccd's owner is smbd.
    return { kind: 'smbd', id: 'smbd' };
  }

  async handOff(_owner: Owner, request: HandoffRequest): Promise<void> {
    const c = request.connection;
    const tupleKey = socketTupleLabel(socketTuple(c.local, c.remote));
    if (this.pool && this.pool.size > 0) {
      const outcome = await this.pool.handOff(c.fd, () => peerStillThere(c.fd));
      if (outcome.kind === 'gone' || outcome.kind === 'shed') {
        c.close();
        throw outcome.kind === 'gone'
          ? new HandoffRefused('client-gone', 'the client left while it waited for an smbd pool member')
          : new HandoffRefused('overloaded', 'shed: the oldest of too many connections waiting for an smbd');
      }
      if (outcome.kind === 'taken') {
        c.close();
        this.pooled++;
        this.track(tupleKey, request.clientGuid, request.channelId);
        this.smbdEvents.emit('handoff', { path: 'pool' });
        return;
      }
      this.smbdEvents.emit('handoff', { path: 'pool-empty' });
    } else {
      this.smbdEvents.emit('handoff', { path: 'spawn' });
    }
    const log = openSync(join(this.options.logDir, 'smbd-inetd.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        this.options.smbdPath ?? '/usr/sbin/smbd',
        ['-i', '-s', this.options.configFile, ...(this.options.extraArgs ?? [])],
        {
          stdio: [c.fd, log, log],
          // Its own session: an exiting smbd signals its whole process group.
          detached: true,
        },
      );
    } finally {
      closeSync(log);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    }).finally(() => c.close());
    this.spawned++;
    const pid = child.pid!;
    this.children.set(pid, child);
    child.unref();
    child.once('exit', () => {
      this.children.delete(pid);
      setTimeout(() => this.reconcile(), 50).unref();
    });
    this.track(tupleKey, request.clientGuid, request.channelId);
  }

  async teardown(
    clientGuid: string,
    _owner: Owner | undefined,
    channels: ChannelRecord[],
  ): Promise<DestroyOutcome> {
    for (const c of channels) this.untrack(socketTupleLabel(c.tuple));
    const outcome = describeDestroys(channels, destroyChannels(channels));
    for (const f of outcome.failed) this.emit('destroy-failed', { clientGuid, ...f });
    return outcome;
  }

  /** Channels whose connection the kernel no longer has are reported closed. */
  reconcile(): void {
    if (this.tracked.size === 0) return;
    const present = new Set<string>();
    for (const port of new Set(this.options.ports())) {
      try {
        for (const s of listTcpSockets({ localPort: port, states: TCP_STATES_OPEN })) {
          present.add(socketTupleLabel(s));
        }
      } catch {
        return; // no sock_diag here: keep what we believe
      }
    }
    const now = Date.now();
    for (const [k, v] of this.tracked) {
      // A brand-new channel may not be visible yet on a busy machine; give it a moment.
      if (!present.has(k) && now - v.since > 200) {
        this.untrack(k);
        this.emit('channel-closed', { clientGuid: v.clientGuid, channelId: v.channelId });
      }
    }
  }
}
