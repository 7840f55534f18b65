/**
 * mccd's parts wired together and started in order: cluster view, public IPs and interface discovery,
 * backend, node link, cluster rules, admission, then the front door. Each part does one job and gets
 * what it needs here; this module holds no rule of its own.
 */
import { EventEmitter } from 'node:events';
import type { ClusterView } from '../ctdb/cluster-view.js';
import {
  type InterfaceDiscovery,
  type InterfacesReport,
  interfacesReport,
  PublicIpTracker,
} from '../ifdiscovery/index.js';
import { ClientRegistry, type ClientView } from '../statecharts/registry.js';
import { Admission } from './admission.js';
import type { Backend } from './backends/backend.js';
import { describeDestroys, destroyChannels } from './backends/destroy.js';
import { adaptBackendEvents, createBackend } from './backends/factory.js';
import type { ClusterMode } from './cluster-mode.js';
import { ClusterRules } from './cluster-rules.js';
import { connectCluster, openClusterView } from './cluster-start.js';
import type { MccConfig } from './config.js';
import { CoordinatorError } from './errors.js';
import type { CoordinatorEvent } from './events.js';
import {
  acceptErrorReporter,
  failureReporter,
  type ReportAcceptError,
  type ReportFailure,
} from './failures.js';
import { FrontDoor } from './front-door.js';
import { openInterfaceList } from './interface-list.js';
import { type Activation, InheritedSockets } from './listen-fds.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { NodeLink } from './node-link.js';
import { type ChannelRow, channelRows } from './operator-views.js';
import { effectivePendingBounds, openFileLimit } from './pending-peeks.js';
import { ReleasingIps } from './releasing-ips.js';
import { type RestoreReport, Restorer } from './restore.js';
import { awaitAnyOwner, dropClaimedElsewhere } from './restore-helpers.js';
import { StateWriter } from './state-writer.js';
import { teardownActor } from './teardown.js';
import { TeardownJournal } from './teardown-journal.js';

export type { CoordinatorEvent } from './events.js';
export type { ChannelRow } from './operator-views.js';

/** What exists once start() got that far; stop() undoes whatever did. */
interface Started {
  cluster: ClusterView;
  mode: ClusterMode;
  publicIps: PublicIpTracker;
  link: NodeLink;
  rules: ClusterRules;
  discovery?: InterfaceDiscovery;
  backend?: Backend;
  writer?: StateWriter;
}

export class Coordinator extends EventEmitter<{ event: [CoordinatorEvent] }> {
  readonly metrics: Metrics = createMetrics();
  readonly registry: ClientRegistry;
  readonly frontDoor: FrontDoor;
  /** Public IPs being released here: their connections are refused until taken again. */
  readonly releasing = new ReleasingIps();
  readonly startedAt = Date.now();
  private started: Started | undefined;
  /** What the restart restored and reconciled (docs/restart.md), for `mcc status`. */
  restore: RestoreReport | undefined;
  private readonly failed: ReportFailure;
  readonly acceptFailed: ReportAcceptError;
  private readonly inherited: InheritedSockets;
  private readonly journal: TeardownJournal;

  constructor(
    private config: MccConfig,
    private readonly log: Logger,
    private readonly inject: { cluster?: ClusterView; activation?: Activation } = {},
  ) {
    super();
    this.failed = failureReporter(log, this.metrics);
    this.inherited = new InheritedSockets(inject.activation);
    this.journal = new TeardownJournal(`${config.state.file}.teardowns`);
    this.registry = new ClientRegistry({
      teardownTimeoutMs: 10_000,
      teardown: teardownActor({
        backend: () => this.backend,
        cluster: () => this.cluster,
        metrics: this.metrics,
        log,
        failed: this.failed,
        now: Date.now,
        tornDown: (e) => this.emit('event', { kind: 'teardown', ...e }),
        journal: this.journal,
      }),
    });
    this.acceptFailed = acceptErrorReporter(log, this.metrics);
    const limit = openFileLimit();
    const bounds = effectivePendingBounds(config.negotiate, limit);
    if (bounds.lowered) log.warn({ limit, maxPending: bounds.maxPending }, bounds.lowered);
    this.frontDoor = new FrontDoor({
      listen: config.listen,
      timeoutMs: config.negotiate.timeoutMs,
      maxBytes: config.negotiate.maxBytes,
      maxPending: bounds.maxPending,
      maxPendingPerAddress: bounds.maxPendingPerAddress,
      ...(limit === undefined ? {} : { fdLimit: limit }),
      deferAccept: config.negotiate.deferAccept,
      acceptQueues: config.negotiate.acceptQueues,
      onWarning: (message) => log.warn(message),
      inherited: (l) => this.inherited.fdFor(l),
      refuseTo: (local) =>
        this.releasing.has(local)
          ? `${local} is being released by this node: connect again once it has moved`
          : undefined,
    });
    this.frontDoor.on('accept-error', this.acceptFailed);
    this.metrics.sources.pendingNegotiates = () => this.frontDoor.pendingCount();
  }

  get cluster(): ClusterView {
    return this.part('cluster');
  }
  get mode(): ClusterMode {
    return this.part('mode');
  }
  get publicIps(): PublicIpTracker {
    return this.part('publicIps');
  }
  get discovery(): InterfaceDiscovery {
    return this.part('discovery');
  }
  get backend(): Backend {
    return this.part('backend');
  }
  get stateFile(): string {
    return this.config.state.file;
  }
  get stateWriter(): StateWriter | undefined {
    return this.started?.writer;
  }

  async start(): Promise<void> {
    const { log, metrics, registry, failed } = this;
    const { cluster, mode } = await openClusterView(this.config.cluster, log, this.inject.cluster);
    const publicIps = new PublicIpTracker(cluster);
    const base = { registry, cluster, metrics, log, failed };
    const link = new NodeLink({
      ...base,
      answerQuery: () => this.channelRows(),
      claimed: (claim) => rules.onClaim(claim),
    });
    const rules = new ClusterRules({
      ...base,
      publicIps,
      observed: (event) => this.emit('event', { kind: 'cluster', event }),
      resetChannels: (channels) => describeDestroys(channels, destroyChannels(channels)),
      releasing: this.releasing,
      closePendingTo: (ip) =>
        this.frontDoor.closePendingTo(
          ip,
          'ip-releasing',
          `${ip} is being released by this node: closed while waiting for its NEGOTIATE`,
        ),
    });
    const started: Started = { cluster, mode, publicIps, link, rules };
    this.started = started;
    cluster.on('event', (e) => {
      rules.onClusterEvent(e);
      if (e.type === 'lost' || e.type === 'restored')
        started.backend?.clusterConnection?.(e.type === 'restored');
    });
    cluster.on('message', (m) => link.onMessage(m));
    publicIps.on('refresh-failed', (e) => failed('public IP refresh', { trigger: e.trigger })(e.error));
    await connectCluster(cluster, {
      metrics,
      log,
      onReachable: () =>
        publicIps.refresh('connected').catch(failed('public IP refresh', { trigger: 'connected' })),
    });
    started.discovery = openInterfaceList(this.config.interfaces, publicIps, log);
    await publicIps.start();
    started.discovery.start();
    const restorer = new Restorer({
      registry,
      cluster,
      listen: this.config.listen,
      state: this.config.state,
      metrics,
      log,
      backend: () => this.backend,
      journal: this.journal.path,
    });
    const backend = createBackend(
      this.config.backend,
      {
        ports: () => this.frontDoor.addresses().map((a) => a.port),
        pnn: () => cluster.pnn,
        interfacesFor: (local) => this.discovery.answerFor(local),
        judgeHeld: (owner, guid, channels) => restorer.judgeHeld(owner, guid, channels),
        // Without a cluster there are no public IPs to keep out of smbd's announcements.
        publicIps: mode.kind === 'single-node' ? undefined : publicIps,
      },
      this.config.limits,
    );
    this.metrics.sources.waitingForOwner = () => backend.waitingCount?.() ?? 0;
    started.backend = backend;
    adaptBackendEvents(backend, {
      registry,
      metrics,
      log,
      failed,
      acceptFailed: this.acceptFailed,
      channelClosed: (guid, id) => rules.onChannelClosed(guid, id),
    });
    await backend.start();
    this.wireAdmission(
      new Admission({
        ...base,
        backend,
        clusterRequired: mode.kind !== 'single-node',
        publicIps,
        discovery: () => this.discovery,
        link,
        maxClients: this.config.limits.maxClients,
        maxChannelsPerClientAddress: this.config.limits.maxChannelsPerClientAddress,
        rejected: (rejection) => this.emit('event', { kind: 'rejected', rejection }),
      }),
    );
    // Before the front door: nothing new may be mistaken for something the previous mccd left.
    this.restore = await restorer.run();
    started.writer = new StateWriter({
      ...this.config.state,
      path: this.config.state.file,
      intervalMs: this.config.state.writeIntervalMs,
      registry,
      pnn: () => cluster.pnn,
      backend: backend.kind,
      journal: this.journal,
      log,
      failed,
    });
    started.writer.start();
    if (this.inherited.any && !(await awaitAnyOwner(backend, this.config.state.ownerWaitMs)))
      log.warn(`no worker registered within ${this.config.state.ownerWaitMs} ms: serving the queue anyway`);
    await this.frontDoor.start();
    this.reportActivation();
    if (mode.kind !== 'single-node' && this.restore.outcome === 'restored')
      dropClaimedElsewhere(restorer.kept(), {
        registry,
        pnn: cluster.pnn,
        queryAll: (ms) => link.queryAll(ms),
        log,
      }).catch(failed('restart claim check'));
  }

  /** Socket activation's outcome, once the front door took what it could (listen-fds.ts). */
  private reportActivation(): void {
    const a = this.inherited.settle();
    if (a.error) this.log.error({ err: a.error }, `socket activation ignored: ${a.error}`);
    for (const r of a.refused) this.log.error({ fd: r }, `socket activation: ${r} (closed)`);
    if (a.unused.length > 0)
      this.log.error(
        { unused: a.unused },
        `socket activation: ${a.unused.join(', ')} match no listen address in the config (closed): align mccd.socket with listen`,
      );
    if (a.adopted.length > 0)
      this.log.info(
        { adopted: a.adopted },
        `socket activation: serving ${a.adopted.join(', ')} from inherited sockets (their queue survives restarts)`,
      );
  }

  async stop(): Promise<void> {
    await this.frontDoor.stop();
    const s = this.started;
    // Written before the owners are let go: the next mccd takes the clients back from it.
    await s?.writer?.stop();
    await s?.backend?.stop();
    s?.discovery?.stop();
    s?.rules.stop();
    s?.publicIps.stop();
    await s?.cluster.stop();
    this.registry.stopAll();
  }

  /**
   * SIGHUP: what can change without a restart (log level, interface overrides, how the state file is
   * written). The rest needs a restart, which keeps every client (docs/restart.md).
   */
  reload(config: MccConfig): string[] {
    const applied: string[] = [];
    if (config.log.level !== this.config.log.level) {
      this.log.level = config.log.level;
      applied.push('log.level');
    }
    if (JSON.stringify(config.interfaces) !== JSON.stringify(this.config.interfaces)) {
      this.discovery.stop();
      const started = this.started!;
      started.discovery = openInterfaceList(config.interfaces, started.publicIps, this.log);
      started.discovery.start();
      applied.push('interfaces');
    }
    const state = {
      ...this.config.state,
      writeIntervalMs: config.state.writeIntervalMs,
      maxBytes: config.state.maxBytes,
    };
    if (JSON.stringify(state) !== JSON.stringify(this.config.state)) {
      this.started?.writer?.reconfigure({ intervalMs: state.writeIntervalMs, maxBytes: state.maxBytes });
      applied.push('state');
    }
    this.config = { ...this.config, log: config.log, interfaces: config.interfaces, state };
    return applied;
  }

  /** Every channel on this node. */
  channelRows(): ChannelRow[] {
    return channelRows({
      registry: this.registry,
      pnn: this.cluster.pnn,
      ports: this.frontDoor.addresses().map((a) => a.port),
      interfaces: this.discovery.current(),
      now: Date.now(),
    });
  }

  /** Every node's channel rows, asked over the mcc srvid; the nodes that did not answer in time. */
  async clusterChannels(
    timeoutMs = 2000,
  ): Promise<{ nodes: Record<number, ChannelRow[]>; missing: number[] }> {
    const r = await this.part('link').queryAll(timeoutMs);
    return { nodes: r.nodes as Record<number, ChannelRow[]>, missing: r.missing };
  }

  /** What this node announces for multi-channel, as `mcc interfaces` shows it. */
  interfacesReport(): InterfacesReport {
    return interfacesReport('mccd', this.cluster.kind, this.discovery.current(), this.publicIps.addresses());
  }

  /** Handles an event from ctdbd's event script (09.mcc.script). */
  onScriptEvent(event: string, args: string[]): void {
    this.part('rules').onScriptEvent(event, args);
  }

  /** An operator's teardown of one client; its state right after. */
  teardownClient(clientGuid: string, by: string): ClientView['state'] | undefined {
    if (!this.registry.has(clientGuid))
      throw new CoordinatorError('NO_CLIENT', `no client ${clientGuid} on this node`);
    this.registry.send(clientGuid, { type: 'ADMIN_TEARDOWN', by });
    return this.registry.view(clientGuid)?.state;
  }

  private wireAdmission(admission: Admission): void {
    this.registry.on('transition', (record) => this.emit('event', { kind: 'transition', record }));
    this.registry.on('gone', (v) => this.backend.clientGone(v.clientGuid));
    this.frontDoor.on('connection', (c) => {
      this.metrics.accepted.inc();
      admission
        .admit(c)
        .catch((error: Error) => this.log.error({ err: error.message }, 'handling a connection failed'));
    });
    this.frontDoor.on('rejected', (r) => admission.reject(r));
  }

  private part<K extends keyof Started>(name: K): NonNullable<Started[K]> {
    const value = this.started?.[name];
    if (value === undefined) throw new CoordinatorError('NOT_STARTED', `mccd's ${name} is not started`);
    return value as NonNullable<Started[K]>;
  }
}
