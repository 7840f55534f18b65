/**
 * A restarted mccd takes its clients back (docs/restart.md): the clients its predecessor recorded in the
 * state file are restored, then reconciled against the truth before the front door accepts anything:
 *
 * 1. a public IP that left this node while mccd was down is a RELEASE_IP missed: its clients are torn
 *    down exactly as the live event would have;
 * 2. a channel the kernel's socket table no longer has is closed (the cluster rules apply: a lost channel
 *    on a public IP ends the whole client);
 * 3. the owners: workers re-register and report what they kept (`held`; anything else is ordered torn
 *    down), restored clients of a worker that does not come back in time are torn down as owner-crashed;
 *    with smbd the socket's holder must be an smbd process, which the backend then watches again;
 * 4. a connection on our ports that no restored client explains is closed (SOCK_DESTROY).
 *
 * Each client not taken back gets one log line saying why. Without a usable state file it is the old
 * behaviour: every connection left on our ports is closed (leftovers.ts).
 */
import type { ClusterView } from '../ctdb/cluster-view.js';
import { type ListedSocket, listTcpSockets, socketTupleLabel, TCP_STATES_OPEN } from '../native/index.js';
import type { ClientRegistry } from '../statecharts/registry.js';
import type { ChannelRecord } from '../statecharts/types.js';
import type { Backend } from './backends/backend.js';
import type { HeldChannel } from './backends/worker-backend.js';
import type { MccConfig } from './config.js';
import { closeLeftoverChannels } from './leftovers.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { closeUnknownConnections, registerPublicChannels } from './restore-helpers.js';
import { socketHolders } from './socket-holders.js';
import { readStateFile } from './state-file.js';
import { readTeardownJournal } from './teardown-journal.js';

export interface RestoreReport {
  outcome: 'restored' | 'no-state' | 'state-refused';
  detail: string;
  /** When this mccd restored the state, and when and by whom the state was written. */
  restoredAt?: number;
  stateWrittenAt?: number;
  statePid?: number;
  clients: { restored: number; kept: number; dropped: number };
  channels: { restored: number; kept: number; dropped: number };
  /** Connections on mccd's ports that no restored client explained: closed. */
  unknownClosed: number;
  /** Why clients were not taken back, counted. */
  dropped: Record<string, number>;
  tookMs: number;
}

export interface RestoreDeps {
  registry: ClientRegistry;
  /** An accessor: the restorer exists before the backend (which asks it to judge held clients). */
  backend: () => Backend;
  cluster: ClusterView;
  listen: MccConfig['listen'];
  state: MccConfig['state'];
  metrics: Metrics;
  log: Logger;
  /** The teardown journal (teardown-journal.ts): teardowns begun after the last state write. */
  journal: string;
}

const none = { restored: 0, kept: 0, dropped: 0 };
const label = socketTupleLabel;

export class Restorer {
  report: RestoreReport | undefined;
  private readonly reasons = new Map<string, number>();
  /** clientGuid → channel ids its worker confirmed it still holds. */
  private readonly confirmed = new Map<string, Set<number>>();
  /** Workers that re-registered (and said what they kept) since the state was restored. */
  private readonly back = new Set<string>();
  private readonly onOwnerBack = (e: { ownerId: string }) => this.back.add(e.ownerId);
  private keptGuids: string[] = [];

  constructor(private readonly deps: RestoreDeps) {}

  /** The restored clients still connected now. */
  kept(): string[] {
    return this.keptGuids;
  }

  /** For the worker backend: a client a re-registering worker says it kept (see WorkerBackend.judgeHeld). */
  judgeHeld(ownerId: string, clientGuid: string, channels: HeldChannel[]): true | string {
    const v = this.deps.registry.view(clientGuid);
    let why: string | undefined;
    if (!v) why = 'not a client mccd restored';
    else if (v.state === 'tearingDown' || v.state === 'gone') why = `the client is ${v.state}`;
    else if (v.context.owner?.id !== ownerId)
      why = `its recorded owner is ${v.context.owner?.id ?? 'none'}, not ${ownerId}`;
    else
      for (const c of channels) {
        const r = v.context.channels.find((x) => x.id === c.channelId);
        if (!r) why = `channel ${c.channelId} is not one mccd recorded`;
        else if (label(r.tuple) !== label(c.tuple))
          why = `channel ${c.channelId} is ${label(c.tuple)}, recorded as ${label(r.tuple)}`;
        if (why) break;
      }
    if (why === undefined) {
      const held = this.confirmed.get(clientGuid) ?? new Set<number>();
      for (const c of channels) held.add(c.channelId);
      this.confirmed.set(clientGuid, held);
      return true;
    }
    // Never half a client: what mccd restored of it goes too.
    if (v && v.state !== 'tearingDown' && v.state !== 'gone')
      this.drop(
        clientGuid,
        'its worker reported it otherwise',
        `worker ${ownerId} reported it otherwise: ${why}`,
      );
    else this.count('held by a worker, unknown to mccd');
    this.deps.log.info(
      { client: clientGuid, owner: ownerId },
      `restart: worker ${ownerId} kept client ${clientGuid}, which is not taken back: ${why}`,
    );
    return why;
  }

  /** Restores and reconciles; resolves before the front door may accept (see the module comment). */
  async run(): Promise<RestoreReport> {
    const { deps } = this;
    const started = Date.now();
    const read = readStateFile(deps.state.file, deps.state.maxBytes);
    let refused: string | undefined;
    if (read.kind === 'bad') refused = `state file ${deps.state.file} not used: ${read.error.message}`;
    else if (read.kind === 'ok' && read.state.pnn !== deps.cluster.pnn)
      refused = `state file ${deps.state.file} was written as node ${read.state.pnn}, this is node ${deps.cluster.pnn}`;
    else if (read.kind === 'ok' && read.state.backend !== deps.backend().kind)
      refused = `state file ${deps.state.file} was written with the ${read.state.backend} backend, this mccd runs ${deps.backend().kind}`;
    if (read.kind !== 'ok' || refused) {
      if (refused)
        deps.log.error({ file: deps.state.file }, `restart: ${refused}; closing what the previous mccd left`);
      closeLeftoverChannels(deps.listen, deps.metrics, deps.log);
      this.report = {
        outcome: refused ? 'state-refused' : 'no-state',
        detail: refused ?? `no state file at ${deps.state.file}`,
        clients: none,
        channels: none,
        unknownClosed: 0,
        dropped: {},
        tookMs: Date.now() - started,
      };
      return this.report;
    }
    const state = read.state;
    if (read.rejected.length > 0) this.reasons.set('record unreadable', read.rejected.length);
    if (read.rejected.length > 0)
      deps.log.error(
        { rejected: read.rejected.slice(0, 10) },
        `restart: ${read.rejected.length} client record(s) in the state file unreadable (their connections are closed as unknown): ${read.rejected[0]}`,
      );
    deps.registry.restoreRecords(state.clients);
    // From now on: a worker may re-register while the steps below still wait for ctdbd.
    deps.backend().on('owner-back', this.onOwnerBack);
    const restored = state.clients.filter((c) => !c.teardown);
    for (const c of state.clients)
      if (c.teardown) this.count('teardown interrupted by the restart, carried out');
    this.resumeJournaledTeardowns();
    const restoredChannels = restored.reduce((n, c) => n + c.channels.length, 0);
    const ports = new Set([
      ...deps.listen.filter((l) => l.port !== 0).map((l) => l.port),
      ...state.clients.flatMap((c) => c.channels.map((ch) => ch.tuple.localPort)),
    ]);
    const live = this.liveSockets(ports);
    if (live) {
      await this.missedReleases();
      this.closeVanished(live);
      if (deps.backend().kind === 'smbd') this.adoptSmbdChannels(live);
      else await this.awaitWorkers();
    } else {
      for (const c of restored)
        this.drop(c.clientGuid, 'socket table unreadable', "the kernel's socket table cannot be read");
    }
    deps.backend().off('owner-back', this.onOwnerBack);
    const unknownClosed = live ? closeUnknownConnections(live, ports, deps) : 0;
    registerPublicChannels(this.deps.registry, this.deps.cluster, this.deps.log);
    let kept = 0;
    let keptChannels = 0;
    for (const c of restored) {
      const v = deps.registry.view(c.clientGuid);
      if (!v || v.state === 'tearingDown' || v.state === 'gone') continue;
      kept++;
      keptChannels += v.context.channels.length;
      this.keptGuids.push(c.clientGuid);
    }
    this.report = {
      outcome: 'restored',
      detail: `state of ${state.clients.length} client(s) written by pid ${state.pid}`,
      restoredAt: started,
      stateWrittenAt: state.writtenAt,
      statePid: state.pid,
      clients: { restored: restored.length, kept, dropped: restored.length - kept },
      channels: { restored: restoredChannels, kept: keptChannels, dropped: restoredChannels - keptChannels },
      unknownClosed,
      dropped: Object.fromEntries(this.reasons),
      tookMs: Date.now() - started,
    };
    const r = this.report;
    deps.log.info(
      { ...r },
      `restart: took back ${r.clients.kept} of ${r.clients.restored} client(s) (${r.channels.kept} of ${r.channels.restored} channel(s)) from the state pid ${state.pid} wrote ${started - state.writtenAt} ms before; ${r.clients.dropped} dropped, ${unknownClosed} unknown connection(s) closed, in ${r.tookMs} ms`,
    );
    return r;
  }

  /** Teardowns the previous mccd began after its last state write: carried out, with their own reason. */
  private resumeJournaledTeardowns(): void {
    const { registry, log, state } = this.deps;
    const { entries, bad } = readTeardownJournal(this.deps.journal, state.maxBytes);
    if (bad.length > 0)
      log.warn(
        { bad: bad.length, err: bad[0]!.message },
        `restart: ${bad.length} teardown journal line(s) unreadable (a torn last write): skipped`,
      );
    for (const e of entries) {
      const v = registry.view(e.clientGuid);
      if (!v || v.state === 'tearingDown' || v.state === 'gone') continue;
      this.count('teardown interrupted by the restart, carried out');
      log.info(
        { client: e.clientGuid, reason: e.reason },
        `restart: client ${e.clientGuid} was being torn down (${e.reason.kind}): carried out`,
      );
      registry.send(e.clientGuid, { type: 'RESUME_TEARDOWN', reason: e.reason });
    }
  }

  /** Open connections on mccd's ports that some process holds (inode 0: still queued, not accepted). */
  private liveSockets(ports: Set<number>): Map<string, ListedSocket> | undefined {
    const live = new Map<string, ListedSocket>();
    try {
      for (const port of ports)
        for (const s of listTcpSockets({ localPort: port, states: TCP_STATES_OPEN }))
          if (s.inode !== 0) live.set(label(s), s);
    } catch (error) {
      this.deps.log.error({ err: (error as Error).message }, 'restart: cannot list TCP sockets');
      return undefined;
    }
    return live;
  }

  /** RELEASE_IP for every public IP a restored channel is on that this node no longer holds. */
  private async missedReleases(): Promise<void> {
    const { registry, cluster, log } = this.deps;
    if (cluster.kind === 'single-node') return;
    let owners: Map<string, number | undefined>;
    try {
      owners = new Map((await cluster.publicIps()).map((p) => [p.address, p.owner]));
    } catch (error) {
      // Unknown where the IPs are: a channel on one cannot be vouched for.
      log.error(
        { err: (error as Error).message },
        'restart: public IPs unknown; clients on them are dropped',
      );
      owners = new Map();
    }
    const gone = new Set<string>();
    for (const v of registry.views()) {
      for (const ch of v.context.channels)
        if (ch.onPublicIp && owners.get(ch.tuple.localAddress) !== cluster.pnn)
          gone.add(ch.tuple.localAddress);
      // A channel lost on a public IP shortly before: its RELEASE_IP still ends the client.
      for (const l of v.context.lostPublicIps ?? []) if (owners.get(l.ip) !== cluster.pnn) gone.add(l.ip);
    }
    for (const ip of gone) {
      const affected = registry.releaseIp(ip);
      for (const _ of affected) this.count('public IP left this node while mccd was down');
      log.info(
        { ip, clients: affected.length },
        `restart: ${ip} left this node while mccd was down: RELEASE_IP for ${affected.length} restored client(s)`,
      );
    }
  }

  /** A restored channel the kernel no longer has is closed, as if its owner had reported it. */
  private closeVanished(live: Map<string, ListedSocket>): void {
    for (const v of [...this.deps.registry.views()]) {
      if (v.state === 'tearingDown' || v.state === 'gone') continue;
      const vanished = v.context.channels.filter((ch) => !live.has(label(ch.tuple)));
      this.closeChannels(v.clientGuid, vanished, "gone from the kernel's socket table");
    }
  }

  private closeChannels(clientGuid: string, channels: ChannelRecord[], why: string): void {
    if (channels.length === 0) return;
    for (const ch of channels)
      this.deps.registry.send(clientGuid, { type: 'CHANNEL_CLOSED', channelId: ch.id });
    const after = this.deps.registry.view(clientGuid)?.state ?? 'gone';
    if (after === 'gone') this.count(`channel ${why}`);
    this.deps.log.info(
      { client: clientGuid, channels: channels.map((c) => label(c.tuple)), now: after },
      `restart: ${channels.length} channel(s) of client ${clientGuid} ${why}: closed (client ${after === 'gone' ? 'gone: it had no other' : `${after}, with its other channels`})`,
    );
  }

  /** smbd: a live channel is adopted when an smbd holds it (or its holder cannot be seen), else dropped. */
  private adoptSmbdChannels(live: Map<string, ListedSocket>): void {
    const { registry } = this.deps;
    const backend = this.deps.backend();
    const views = [...registry.views()].filter((v) => v.state !== 'tearingDown' && v.state !== 'gone');
    const inodes = views.flatMap((v) =>
      v.context.channels.map((ch) => live.get(label(ch.tuple))?.inode ?? 0),
    );
    const holders = socketHolders(inodes.filter((i) => i !== 0));
    for (const v of views) {
      const strangers = v.context.channels
        .map((ch) => holders.get(live.get(label(ch.tuple))?.inode ?? 0))
        .filter((h) => h !== undefined && h.comm !== 'smbd');
      if (strangers.length > 0) {
        const h = strangers[0]!;
        this.drop(
          v.clientGuid,
          'a channel held by a process not smbd',
          `a channel is held by ${h.comm} (pid ${h.pid}), not smbd`,
        );
        continue;
      }
      for (const ch of v.context.channels) backend.adopt(v.clientGuid, ch.id, ch.tuple);
    }
  }

  /**
   * Workers: until every owner of a restored client has re-registered and said what it kept, or
   * ownerWaitMs passed. Channels a returned worker did not report are closed; owners that did not
   * return are crashed owners.
   */
  private async awaitWorkers(): Promise<void> {
    const { registry, log } = this.deps;
    const backend = this.deps.backend();
    const owners = new Set<string>();
    for (const v of registry.views())
      if (v.state !== 'tearingDown' && v.state !== 'gone' && v.context.owner) owners.add(v.context.owner.id);
    const back = this.back;
    const allBack = () => [...owners].every((o) => back.has(o));
    if (owners.size > 0 && !allBack()) {
      await new Promise<void>((resolve) => {
        const onBack = () => {
          if (allBack()) finish();
        };
        const finish = () => {
          clearTimeout(timer);
          backend.off('owner-back', onBack);
          resolve();
        };
        const timer = setTimeout(finish, this.deps.state.ownerWaitMs);
        backend.on('owner-back', onBack);
      });
    }
    for (const v of [...registry.views()]) {
      if (v.state === 'tearingDown' || v.state === 'gone' || !v.context.owner) continue;
      if (!back.has(v.context.owner.id)) continue;
      const held = this.confirmed.get(v.clientGuid) ?? new Set<number>();
      this.closeChannels(
        v.clientGuid,
        v.context.channels.filter((ch) => !held.has(ch.id)),
        'not reported by its worker',
      );
    }
    for (const owner of owners) {
      if (back.has(owner)) continue;
      const affected = registry.ownerCrashed(owner);
      for (const _ of affected) this.count('worker did not come back');
      log.warn(
        { owner, clients: affected.length },
        `restart: worker ${owner} did not re-register within ${this.deps.state.ownerWaitMs} ms: tearing down its ${affected.length} restored client(s)`,
      );
    }
  }

  /** Tears a restored client down: counted under `category`, logged with the particulars in `why`. */
  private drop(clientGuid: string, category: string, why: string): void {
    this.count(category);
    this.deps.log.info({ client: clientGuid, why }, `restart: client ${clientGuid} not taken back: ${why}`);
    this.deps.registry.send(clientGuid, {
      type: 'RESUME_TEARDOWN',
      reason: { kind: 'unmatched-after-restart', why: why.slice(0, 200) },
    });
  }

  private count(reason: string): void {
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }
}
