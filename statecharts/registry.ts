/**
 * All clients on this node: one root actor per ClientGUID in a Map, an inspection stream of their
 * transitions, queries the cluster rules need, and versioned snapshots.
 */
import { EventEmitter } from 'node:events';
import { type Actor, type ActorOptions, createActor, type Snapshot } from 'xstate';
import {
  type ClientEvent,
  type ClientStateValue,
  clientMachine,
  clientStateName,
  type NewChannel,
  TEARDOWN_CAUSES,
  type TeardownLogic,
} from './client-machine.js';
import { type ClientRecord, clientRecord, snapshotOfRecord } from './persist.js';
import { type ClientContext, LOST_PUBLIC_IP_WINDOW_MS, type Owner } from './types.js';

export interface TransitionRecord {
  clientGuid: string;
  from: ClientStateValue | undefined;
  to: ClientStateValue;
  event: string;
  at: number;
}

export type ClientActor = Actor<typeof clientMachine>;

export interface ClientView {
  clientGuid: string;
  state: ClientStateValue;
  context: ClientContext;
}

export type AcceptResult =
  | { accepted: true; channelId: number }
  | { accepted: false; reason: 'tearing-down' | 'channel-limit' };

type Clock = NonNullable<ActorOptions<typeof clientMachine>['clock']>;

export interface RegistryOptions {
  /** XState's clock for delays (SimulatedClock in tests). */
  clock?: Clock;
  /** The time events are stamped with when they arrive without their cause's time. */
  now?: () => number;
  teardownTimeoutMs?: number;
  /** Carries a client's teardown out (closes its channels); the client is gone when it settles. */
  teardown?: TeardownLogic;
}

export const SNAPSHOT_VERSION = 1;

export interface RegistrySnapshot {
  version: typeof SNAPSHOT_VERSION;
  takenAt: number;
  clients: Record<string, Snapshot<unknown>>;
}

export class ClientRegistry extends EventEmitter<{ transition: [TransitionRecord]; gone: [ClientView] }> {
  private readonly actors = new Map<string, ClientActor>();
  /**
   * Restored clients not yet touched: kept as persisted snapshots and turned into actors on first use, so a
   * restart restores 100k clients in well under a second. Clients mid-teardown are woken at once (their
   * timer must run).
   */
  private readonly dormant = new Map<string, PersistedClient>();
  private readonly lastState = new Map<string, ClientStateValue>();
  /** The event being delivered by send(); undefined for timer events from the clock. */
  private delivering: string | undefined;
  private changeCount = 0;
  private readonly now: () => number;
  private readonly machine: typeof clientMachine;

  constructor(private readonly options: RegistryOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.machine = options.teardown
      ? clientMachine.provide({ actors: { teardown: options.teardown } })
      : clientMachine;
  }

  get size(): number {
    return this.actors.size + this.dormant.size;
  }

  *guids(): IterableIterator<string> {
    yield* this.actors.keys();
    yield* this.dormant.keys();
  }

  has(clientGuid: string): boolean {
    return this.actors.has(clientGuid) || this.dormant.has(clientGuid);
  }

  view(clientGuid: string): ClientView | undefined {
    const actor = this.actors.get(clientGuid);
    if (actor) {
      const s = actor.getSnapshot();
      return { clientGuid, state: clientStateName(s.value), context: s.context };
    }
    const p = this.dormant.get(clientGuid);
    return p ? { clientGuid, state: clientStateName(p.value), context: p.context } : undefined;
  }

  *views(): IterableIterator<ClientView> {
    for (const guid of this.guids()) yield this.view(guid)!;
  }

  send(clientGuid: string, event: ClientEvent): void {
    const actor = this.wake(clientGuid);
    if (!actor) return;
    this.delivering = event.type;
    try {
      actor.send(this.withCauseTime(event));
    } finally {
      this.delivering = undefined;
    }
  }

  /**
   * Records a new channel for `clientGuid`, creating the client on its first channel. A client that is
   * tearing down refuses: its new channel must be closed, and the client reconnects once it is gone.
   * `owner` becomes the client's owner when it has none (its first channel), in the same event.
   */
  acceptChannel(clientGuid: string, channel: NewChannel, owner?: Owner): AcceptResult {
    const actor = this.wake(clientGuid) ?? this.spawn(clientGuid);
    const before = actor.getSnapshot().context.nextChannelId;
    this.send(clientGuid, { type: 'CHANNEL_ACCEPTED', channel, ...(owner ? { owner } : {}) });
    const after = actor.getSnapshot();
    if (after.context.nextChannelId > before) return { accepted: true, channelId: before };
    return {
      accepted: false,
      reason: clientStateName(after.value) === 'tearingDown' ? 'tearing-down' : 'channel-limit',
    };
  }

  /** Assigns the owner process; false if the client already has a different one (never two owners). */
  assignOwner(clientGuid: string, owner: Owner): boolean {
    if (!this.has(clientGuid)) return false;
    this.send(clientGuid, { type: 'OWNER_ASSIGNED', owner });
    return this.view(clientGuid)?.context.owner?.id === owner.id;
  }

  /**
   * Clients with a live channel whose local address is `ip`, or one lost on it within the last
   * LOST_PUBLIC_IP_WINDOW_MS before `at`: ctdb's releaseip resets the channels on an IP before RELEASE_IP
   * arrives, and those clients' other channels must go all the same (the machine's guard agrees).
   */
  clientsOnIp(ip: string, at = this.now()): string[] {
    return this.matching(
      (c) =>
        c.channels.some((ch) => ch.tuple.localAddress === ip) ||
        // ...and still has channels to lose (a client gone or being torn down has none).
        (c.channels.length > 0 &&
          (c.lostPublicIps ?? []).some((l) => l.ip === ip && at - l.at <= LOST_PUBLIC_IP_WINDOW_MS)),
    );
  }

  /**
   * RELEASE_IP: every client with a channel on `ip` is torn down whole. Returns those clients. `at` is
   * when the IP was released, so their teardown latency includes the time the event took to get here.
   */
  releaseIp(ip: string, at?: number): string[] {
    const affected = this.clientsOnIp(ip, at);
    for (const guid of affected)
      this.send(guid, { type: 'RELEASE_IP', ip, ...(at === undefined ? {} : { at }) });
    return affected;
  }

  clientsWithPublicChannels(): string[] {
    return this.matching((c) => c.channels.some((ch) => ch.onPublicIp));
  }

  /** Lost the cluster daemon: every client with a channel on any public IP is torn down. */
  clusterLost(at?: number): string[] {
    const affected = this.clientsWithPublicChannels();
    for (const guid of affected)
      this.send(guid, { type: 'CLUSTER_LOST', ...(at === undefined ? {} : { at }) });
    return affected;
  }

  clientsOwnedBy(ownerId: string): string[] {
    return this.matching((c) => c.owner?.id === ownerId);
  }

  ownerCrashed(ownerId: string, at?: number): string[] {
    const affected = this.clientsOwnedBy(ownerId);
    for (const guid of affected)
      this.send(guid, { type: 'OWNER_CRASHED', owner: ownerId, ...(at === undefined ? {} : { at }) });
    return affected;
  }

  snapshot(): RegistrySnapshot {
    const clients: Record<string, Snapshot<unknown>> = {};
    for (const [guid, actor] of this.actors)
      clients[guid] = actor.getPersistedSnapshot() as Snapshot<unknown>;
    for (const [guid, persisted] of this.dormant) clients[guid] = persisted as unknown as Snapshot<unknown>;
    return { version: SNAPSHOT_VERSION, takenAt: this.now(), clients };
  }

  /** Rebuilds every client from a snapshot (after a restart); clients already present are replaced. */
  restore(snapshot: RegistrySnapshot): void {
    if (snapshot.version !== SNAPSHOT_VERSION) {
      throw new Error(`client registry snapshot version ${snapshot.version} is not ${SNAPSHOT_VERSION}`);
    }
    for (const [guid, persisted] of Object.entries(snapshot.clients))
      this.restoreOne(guid, persisted as unknown as PersistedClient);
    this.changeCount++;
  }

  private restoreOne(guid: string, p: PersistedClient): void {
    const actor = this.actors.get(guid);
    if (actor) {
      actor.stop();
      this.actors.delete(guid);
    }
    this.dormant.set(guid, p);
    const state = clientStateName(p.value);
    this.lastState.set(guid, state);
    if (state === 'tearingDown') this.wake(guid);
  }

  /** Every client as a plain record (what mccd's state file holds). */
  records(): ClientRecord[] {
    const out: ClientRecord[] = [];
    for (const v of this.views()) {
      const r = clientRecord(v.state, v.context);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Brings back clients a previous process recorded: connected ones as they were (dormant until touched,
   * like restore()), those it was tearing down torn down again, with their recorded reason.
   */
  restoreRecords(records: readonly ClientRecord[]): void {
    const timeout = this.options.teardownTimeoutMs ?? 5000;
    // Straight into the registry, not through a snapshot object keyed by 100k GUIDs (restore()).
    for (const r of records)
      this.restoreOne(r.clientGuid, snapshotOfRecord(r, timeout) as unknown as PersistedClient);
    this.changeCount++;
    for (const r of records)
      if (r.teardown) this.send(r.clientGuid, { type: 'RESUME_TEARDOWN', reason: r.teardown });
  }

  /**
   * A version that changes whenever any client's snapshot did: a writer compares it to know whether
   * there is anything new to persist, without an event per change.
   */
  get changes(): number {
    return this.changeCount;
  }

  stopAll(): void {
    for (const actor of this.actors.values()) actor.stop();
    this.actors.clear();
    this.dormant.clear();
    this.lastState.clear();
  }

  private withCauseTime(event: ClientEvent): ClientEvent {
    if (!TEARDOWN_CAUSES.has(event.type) || ('at' in event && event.at !== undefined)) return event;
    return { ...event, at: this.now() } as ClientEvent;
  }

  private matching(predicate: (context: ClientContext) => boolean): string[] {
    const out: string[] = [];
    for (const [guid, actor] of this.actors) if (predicate(actor.getSnapshot().context)) out.push(guid);
    for (const [guid, p] of this.dormant) if (predicate(p.context)) out.push(guid);
    return out;
  }

  private wake(clientGuid: string): ClientActor | undefined {
    const actor = this.actors.get(clientGuid);
    if (actor) return actor;
    const persisted = this.dormant.get(clientGuid);
    if (!persisted) return undefined;
    this.dormant.delete(clientGuid);
    return this.spawn(clientGuid, persisted as unknown as Snapshot<unknown>);
  }

  private spawn(clientGuid: string, persisted?: Snapshot<unknown>): ClientActor {
    const actor = createActor(this.machine, {
      input: { clientGuid, createdAt: this.now(), teardownTimeoutMs: this.options.teardownTimeoutMs },
      ...(persisted ? { snapshot: persisted } : {}),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    this.actors.set(clientGuid, actor);
    // A subscription, not an inspect hook: inspection fires for every action and microstep and halves
    // throughput; snapshots are all the transition stream needs.
    actor.subscribe((s) => this.onSnapshot(clientGuid, actor, s));
    actor.start();
    if (!persisted) this.onSnapshot(clientGuid, actor, actor.getSnapshot());
    return actor;
  }

  private onSnapshot(
    clientGuid: string,
    actor: ClientActor,
    snapshot: ReturnType<ClientActor['getSnapshot']>,
  ): void {
    this.changeCount++;
    const to = clientStateName(snapshot.value);
    const from = this.lastState.get(clientGuid);
    if (from === to) return;
    this.lastState.set(clientGuid, to);
    const event = from === undefined ? 'xstate.init' : (this.delivering ?? 'timeout');
    this.emit('transition', { clientGuid, from, to, event, at: this.now() });
    if (to === 'gone') {
      const view: ClientView = { clientGuid, state: to, context: snapshot.context };
      // Leave the Map once the client's life is over; its record stays in the transition stream.
      queueMicrotask(() => {
        if (this.actors.get(clientGuid) === actor) {
          this.actors.delete(clientGuid);
          this.lastState.delete(clientGuid);
        }
        this.emit('gone', view);
      });
    }
  }
}

interface PersistedClient {
  value: unknown;
  context: ClientContext;
}
