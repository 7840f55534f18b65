import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ClusterEvent, ClusterView } from '../ctdb/cluster-view.js';
import { CtdbdClusterView } from '../ctdb/ctdbd-view.js';
import { NodeFlags } from '../ctdb/protocol/controls.js';
import { RedisClusterView } from '../ctdb/redis-sim.js';
import { SingleNodeView } from '../ctdb/single-node.js';
import {
  InterfaceDiscovery,
  type InterfacesReport,
  interfacesReport,
  PublicIpTracker,
} from '../ifdiscovery/index.js';
import {
  destroySockets,
  listTcpSockets,
  type SocketTuple,
  socketTuple,
  socketTupleLabel,
  TCP_STATES_OPEN,
} from '../native/index.js';
import { ClientRegistry, type TransitionRecord } from '../statecharts/registry.js';
import type { Owner, TeardownReason } from '../statecharts/types.js';
import type { Backend } from './backends/backend.js';
import { SmbdBackend } from './backends/smbd-backend.js';
import { WorkerBackend } from './backends/worker-backend.js';
import { decodeClusterMessage, encodeClusterMessage } from './cluster-messages.js';
import { type ClusterMode, resolveClusterMode } from './cluster-mode.js';
import type { MccConfig } from './config.js';
import { type AcceptedConnection, FrontDoor, type Rejection } from './front-door.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { teardownActor } from './teardown.js';

export type CoordinatorEvent =
  | { kind: 'transition'; record: TransitionRecord }
  | { kind: 'cluster'; event: ClusterEvent }
  | {
      kind: 'teardown';
      clientGuid: string;
      reason: TeardownReason;
      channels: number;
      latencyMs: number;
    }
  | { kind: 'rejected'; rejection: Rejection };

/** One channel as `mcc channels` shows it: Get-SmbMultichannelConnection's columns and mcc's own. */
export interface ChannelRow {
  node: number;
  clientGuid: string;
  channelId: number;
  state: string;
  clientState: string;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** The client's own interface index is not visible to a server. */
  clientInterfaceIndex: null;
  serverInterfaceIndex: number | null;
  serverInterface: string | null;
  rssCapable: boolean | null;
  rdmaCapable: boolean | null;
  linkSpeed: number | null;
  onPublicIp: boolean;
  transport: string;
  owner: string | null;
  ownerPid: number | null;
  ageMs: number;
  bytesSent: number | null;
  bytesReceived: number | null;
  rttUs: number | null;
}

/** Nodes that cannot answer a query: not connected, or deleted from the nodes file. */
const UNREACHABLE = NodeFlags.DISCONNECTED | NodeFlags.DELETED;

/**
 * mccd's parts wired together: front door → registry (statecharts) → backend, and the cluster rules
 * (RELEASE_IP / ctdbd loss tear whole clients down; one client, one node).
 */
export class Coordinator extends EventEmitter<{ event: [CoordinatorEvent] }> {
  readonly metrics: Metrics = createMetrics();
  readonly registry: ClientRegistry;
  readonly frontDoor: FrontDoor;
  cluster!: ClusterView;
  mode!: ClusterMode;
  publicIps!: PublicIpTracker;
  discovery!: InterfaceDiscovery;
  backend!: Backend;
  readonly startedAt = Date.now();
  private readonly pendingQueries = new Map<string, (from: number, body: unknown) => void>();

  constructor(
    private config: MccConfig,
    private readonly log: Logger,
    private readonly inject: { cluster?: ClusterView } = {},
  ) {
    super();
    this.registry = new ClientRegistry({
      teardownTimeoutMs: 10_000,
      teardown: teardownActor({
        backend: () => this.backend,
        cluster: () => this.cluster,
        metrics: this.metrics,
        log,
        now: Date.now,
        tornDown: (e) => this.emit('event', { kind: 'teardown', ...e }),
      }),
    });
    this.frontDoor = new FrontDoor({
      listen: config.listen,
      timeoutMs: config.negotiate.timeoutMs,
      maxBytes: config.negotiate.maxBytes,
    });
  }

  async start(): Promise<void> {
    await this.startCluster();
    this.publicIps = new PublicIpTracker(this.cluster);
    this.discovery = new InterfaceDiscovery(this.config.interfaces, this.publicIps);
    this.discovery.on('updated', (u) => {
      if (u.latencyMs !== undefined)
        this.log.debug(
          { trigger: u.trigger, latencyMs: u.latencyMs, announced: u.state.announced.length },
          'interface list updated',
        );
    });
    await this.publicIps.start();
    this.discovery.start();
    this.backend = this.createBackend();
    this.wireBackend();
    await this.backend.start();
    this.registry.on('transition', (record) => this.onTransition(record));
    this.registry.on('gone', (v) => this.backend.clientGone(v.clientGuid));
    this.frontDoor.on('connection', (c) => {
      this.metrics.accepted.inc();
      this.onConnection(c).catch((error: Error) =>
        this.log.error({ err: error.message }, 'handling a connection failed'),
      );
    });
    this.frontDoor.on('rejected', (r) => this.onRejected(r));
    this.closeLeftoverChannels();
    await this.frontDoor.start();
  }

  /**
   * Connections on our SMB ports that this (new) mccd never accepted: left by an mccd that crashed or was
   * restarted, still served by smbd. Nothing would tear them down on RELEASE_IP and their ClientGUIDs are
   * unknown, so they cannot be adopted: they are closed, and their clients reconnect through this mccd.
   * Runs before the front door listens, so no connection of ours can be among them.
   */
  private closeLeftoverChannels(): void {
    const listen = this.config.listen.filter((l) => l.port !== 0);
    const wildcard = (a: string) => a === '0.0.0.0' || a === '::';
    const leftovers: SocketTuple[] = [];
    try {
      for (const port of new Set(listen.map((l) => l.port))) {
        for (const s of listTcpSockets({ localPort: port, states: TCP_STATES_OPEN })) {
          if (listen.some((l) => l.port === port && (wildcard(l.address) || l.address === s.localAddress)))
            leftovers.push(s);
        }
      }
    } catch (error) {
      this.log.warn(
        { err: (error as Error).message },
        'cannot list TCP sockets: leftover channels not checked',
      );
      return;
    }
    if (leftovers.length === 0) return;
    const results = destroySockets(leftovers);
    const closed = results.filter((r) => r === 'destroyed').length;
    this.metrics.leftoverChannelsClosed.inc(closed);
    this.log.warn(
      { found: leftovers.length, closed },
      `closed ${closed} of ${leftovers.length} channel(s) left by a previous mccd: their clients reconnect through this one`,
    );
  }

  async stop(): Promise<void> {
    await this.frontDoor.stop();
    await this.backend?.stop();
    this.discovery?.stop();
    this.publicIps?.stop();
    await this.cluster?.stop();
    this.registry.stopAll();
  }

  /** What this node announces for multi-channel, as `mcc interfaces` shows it. */
  interfacesReport(): InterfacesReport {
    return interfacesReport('mccd', this.cluster.kind, this.discovery.current(), this.publicIps.addresses());
  }

  /** Every channel on this node, with TCP_INFO figures from inet_diag (mccd does not keep the fds). */
  channelRows(): ChannelRow[] {
    const tcp = new Map<string, { bytesAcked?: number; bytesReceived?: number; rttUs?: number }>();
    try {
      for (const port of new Set(this.frontDoor.addresses().map((a) => a.port))) {
        for (const s of listTcpSockets({ localPort: port, withInfo: true })) {
          tcp.set(socketTupleLabel(s), s);
        }
      }
    } catch {
      // no sock_diag: rows without byte counts
    }
    const announced = new Map(this.discovery.current().announced.map((a) => [a.address, a]));
    const now = Date.now();
    const rows: ChannelRow[] = [];
    for (const v of this.registry.views()) {
      for (const c of v.context.channels) {
        const t = c.tuple;
        const info = tcp.get(socketTupleLabel(t));
        const iface = announced.get(t.localAddress);
        rows.push({
          node: this.cluster.pnn,
          clientGuid: v.clientGuid,
          channelId: c.id,
          state: c.state,
          clientState: v.state,
          clientIp: t.remoteAddress,
          clientPort: t.remotePort,
          serverIp: t.localAddress,
          serverPort: t.localPort,
          clientInterfaceIndex: null,
          serverInterfaceIndex: iface?.ifIndex ?? null,
          serverInterface: iface?.interfaceName ?? c.interfaceName ?? null,
          rssCapable: iface ? iface.rss : null,
          rdmaCapable: iface ? iface.rdma : null,
          linkSpeed: iface ? iface.speed : null,
          onPublicIp: c.onPublicIp,
          transport: c.transport,
          owner: v.context.owner ? `${v.context.owner.kind}:${v.context.owner.id}` : null,
          ownerPid: v.context.owner?.pid ?? null,
          ageMs: now - c.createdAt,
          bytesSent: info?.bytesAcked ?? null,
          bytesReceived: info?.bytesReceived ?? null,
          rttUs: info?.rttUs ?? null,
        });
      }
    }
    return rows;
  }

  /** Asks every node's mccd for its channel rows over the mcc srvid; answers that arrive in time. */
  async clusterChannels(
    timeoutMs = 2000,
  ): Promise<{ nodes: Record<number, ChannelRow[]>; missing: number[] }> {
    const nodes = await this.cluster.nodeMap().catch(() => [{ pnn: this.cluster.pnn, flags: 0 }]);
    const expected = nodes.filter((n) => !(n.flags & UNREACHABLE)).map((n) => n.pnn);
    const id = randomUUID();
    const got: Record<number, ChannelRow[]> = {};
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.pendingQueries.set(id, (from, body) => {
        got[from] = body as ChannelRow[];
        if (expected.every((p) => got[p] !== undefined)) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.cluster
        .sendToNode('all', encodeClusterMessage({ type: 'query', id, from: this.cluster.pnn }))
        .catch(() => resolve());
    });
    this.pendingQueries.delete(id);
    return { nodes: got, missing: expected.filter((p) => got[p] === undefined) };
  }

  /** SIGHUP: what can change without a restart (log level, interface overrides). */
  reload(config: MccConfig): string[] {
    const applied: string[] = [];
    if (config.log.level !== this.config.log.level) {
      this.log.level = config.log.level;
      applied.push('log.level');
    }
    if (JSON.stringify(config.interfaces) !== JSON.stringify(this.config.interfaces)) {
      this.discovery.stop();
      this.discovery = new InterfaceDiscovery(config.interfaces, this.publicIps);
      this.discovery.start();
      applied.push('interfaces');
    }
    this.config = { ...this.config, log: config.log, interfaces: config.interfaces };
    return applied;
  }

  private async startCluster(): Promise<void> {
    if (this.inject.cluster) {
      this.cluster = this.inject.cluster;
      const k = this.cluster.kind;
      this.mode =
        k === 'ctdbd'
          ? { kind: k, socket: '(injected)' }
          : k === 'redis'
            ? { kind: k, url: '(injected)' }
            : { kind: 'single-node', reason: 'injected' };
    } else {
      this.mode = await resolveClusterMode(this.config.cluster);
      switch (this.mode.kind) {
        case 'ctdbd':
          this.cluster = new CtdbdClusterView({
            socketPath: this.mode.socket,
            log: (level, message, fields) => this.log[level](fields ?? {}, message),
          });
          break;
        case 'redis':
          this.cluster = new RedisClusterView({
            url: this.mode.url,
            cluster: 'mcc',
            pnn: this.config.cluster.pnn,
          });
          break;
        default:
          this.cluster = new SingleNodeView(this.config.cluster.pnn);
      }
    }
    this.cluster.on('event', (e) => this.onClusterEvent(e));
    this.cluster.on('message', (m) => this.onClusterMessage(m));
    try {
      await this.cluster.start();
      this.metrics.clusterConnected.set(1);
    } catch (error) {
      // ctdbd configured but not answering: keep serving (nothing public is announced until it answers)
      // and keep trying in the background.
      this.log.error({ err: (error as Error).message }, 'cluster daemon not reachable at start; retrying');
      this.metrics.clusterConnected.set(0);
      this.retryClusterStart();
    }
  }

  private retryClusterStart(attempt = 0): void {
    setTimeout(
      () => {
        this.cluster
          .start()
          .then(() => {
            this.metrics.clusterConnected.set(1);
            this.log.info({ pnn: this.cluster.pnn }, 'cluster daemon reachable');
            this.publicIps.refresh('connected').catch(() => undefined);
          })
          .catch(() => this.retryClusterStart(attempt + 1));
      },
      Math.min(5000, 200 * 2 ** attempt),
    ).unref();
  }

  private createBackend(): Backend {
    const b = this.config.backend;
    if (b.kind === 'smbd') {
      return new SmbdBackend({
        smbdPath: b.smbdPath,
        configFile: b.config,
        logDir: b.logDir,
        extraArgs: b.extraArgs,
        pool: b.pool,
        ports: () => this.frontDoor.addresses().map((a) => a.port),
      });
    }
    return new WorkerBackend({
      socketPath: b.socket,
      pnn: () => this.cluster.pnn,
      interfacesFor: (local) => this.discovery.answerFor(local),
      teardownAckMs: b.teardownAckMs,
    });
  }

  private wireBackend(): void {
    const b = this.backend;
    b.on('negotiated', (e) => {
      this.registry.send(e.clientGuid, { type: 'NEGOTIATED', dialect: e.dialect });
      this.registry.send(e.clientGuid, { type: 'CHANNEL_EVENT', channelId: e.channelId, event: 'ACTIVATED' });
    });
    b.on('bound', (e) =>
      this.registry.send(e.clientGuid, { type: 'CHANNEL_EVENT', channelId: e.channelId, event: 'BOUND' }),
    );
    b.on('channel-closed', (e) =>
      this.registry.send(e.clientGuid, { type: 'CHANNEL_CLOSED', channelId: e.channelId }),
    );
    b.on('owner-gone', (e) => {
      this.log.warn({ owner: e.ownerId }, e.reason);
      this.registry.ownerCrashed(e.ownerId);
    });
    b.on('smbd-handoff', (e) => this.metrics.smbdHandoffs.inc({ path: e.path }));
    b.on('smbd-pool-failure', (e) => {
      this.metrics.smbdPoolFailures.inc();
      this.log.warn({ backend: 'smbd' }, e.reason);
    });
    b.on('destroy-failed', (e) => {
      this.metrics.destroyFailures.inc();
      this.log.warn(
        { client: e.clientGuid, channel: e.tuple, errno: e.errno },
        `could not kill channel ${e.tuple} of client ${e.clientGuid} (SOCK_DESTROY errno ${e.errno})`,
      );
    });
    b.on('protocol-error', (e) => {
      this.metrics.parseErrors.inc({ parser: e.parser, code: e.code });
      this.log.warn({ parser: e.parser, code: e.code }, `bad ${e.parser} message: ${e.message}`);
    });
  }

  private onRejected(r: Rejection): void {
    this.metrics.rejected.inc({ reason: r.reason });
    if (r.code) this.metrics.parseErrors.inc({ parser: 'negotiate', code: r.code });
    const message =
      r.reason === 'smb1'
        ? 'closing SMB1 connection: SMB1 is not served, only SMB2 and later'
        : `closing connection: ${r.detail}`;
    this.log.info({ reason: r.reason, remote: r.remote, local: r.local }, message);
    this.emit('event', { kind: 'rejected', rejection: r });
  }

  private async onConnection(c: AcceptedConnection): Promise<void> {
    const guid = c.request.clientGuid;
    if (this.mode.kind !== 'single-node' && !this.cluster.connected) {
      // Without ctdbd (or Redis) this node knows neither which public IPs are still its own nor whether another node
      // holds the client (claims travel through ctdbd): a channel accepted now could split the client.
      // smbd in a cluster stops serving without ctdbd for the same reason.
      c.socket.destroy();
      this.onRejected({
        reason: 'cluster-lost',
        detail: `client ${guid}: no connection to ctdbd, not taking new channels`,
        remote: `${c.remote.address}:${c.remote.port}`,
        local: `${c.local.address}:${c.local.port}`,
      });
      return;
    }
    const onPublicIp = this.publicIps.has(c.local.address);
    const iface = this.discovery
      .current()
      .announced.find((a) => a.address === c.local.address)?.interfaceName;
    const accepted = this.registry.acceptChannel(guid, {
      tuple: socketTuple(c.local, c.remote),
      ...(iface ? { interfaceName: iface } : {}),
      transport: 'tcp',
      onPublicIp,
      createdAt: c.acceptedAt,
    });
    if (!accepted.accepted) {
      c.socket.destroy();
      this.onRejected({
        reason: accepted.reason,
        detail: `client ${guid} ${accepted.reason}`,
        remote: `${c.remote.address}:${c.remote.port}`,
        local: `${c.local.address}:${c.local.port}`,
      });
      return;
    }
    let owner: Owner | undefined = this.registry.view(guid)?.context.owner;
    if (!owner) {
      owner = this.backend.chooseOwner(guid);
      if (!owner) {
        c.socket.destroy();
        this.registry.send(guid, { type: 'CHANNEL_CLOSED', channelId: accepted.channelId });
        this.onRejected({
          reason: 'no-backend',
          detail: 'no worker registered',
          remote: `${c.remote.address}:${c.remote.port}`,
          local: `${c.local.address}:${c.local.port}`,
        });
        return;
      }
      this.registry.assignOwner(guid, owner);
      // One client, one node: whoever had this client lets it go.
      this.cluster
        .sendToNode(
          'all',
          encodeClusterMessage({ type: 'claim', clientGuid: guid, pnn: this.cluster.pnn, at: Date.now() }),
        )
        .catch(() => undefined);
    }
    if (onPublicIp && this.cluster.registerConnection) {
      // As smbd does (ctdbd_register_ips): the node taking this IP over will reset the client at once.
      this.cluster
        .registerConnection(c.local, c.remote)
        .catch((error: Error) =>
          this.log.warn(
            { client: guid, err: error.message },
            'could not register the connection with ctdbd (TCP_CLIENT)',
          ),
        );
    }
    try {
      await this.backend.handOff(owner, { clientGuid: guid, channelId: accepted.channelId, connection: c });
      this.metrics.handoffs.inc({ backend: this.backend.kind });
      this.registry.send(guid, { type: 'CHANNEL_EVENT', channelId: accepted.channelId, event: 'HANDED_OFF' });
    } catch (error) {
      this.metrics.handoffFailures.inc({ backend: this.backend.kind });
      this.log.warn({ client: guid, err: (error as Error).message }, 'handoff failed');
      this.registry.send(guid, { type: 'CHANNEL_CLOSED', channelId: accepted.channelId });
    }
  }

  private onClusterEvent(e: ClusterEvent): void {
    this.metrics.clusterEvents.inc({ type: e.type });
    this.emit('event', { kind: 'cluster', event: e });
    switch (e.type) {
      case 'ip-released': {
        const affected = this.registry.releaseIp(e.ip, e.at);
        this.log.info(
          { ip: e.ip, clients: affected.length },
          `RELEASE_IP ${e.ip}: tearing down ${affected.length} client(s) with a channel on it`,
        );
        break;
      }
      case 'lost': {
        this.metrics.clusterConnected.set(0);
        const affected = this.registry.clusterLost(e.at);
        this.log.warn(
          { clients: affected.length },
          `lost ctdbd: every public IP of this node counts as released; tearing down ${affected.length} client(s)`,
        );
        break;
      }
      case 'restored':
        this.metrics.clusterConnected.set(1);
        this.log.info('ctdbd connection restored');
        break;
      default:
        break;
    }
  }

  /** Handles an event from ctdbd's event script (99.mcc.script), a second path beside ctdbd's messages. */
  onScriptEvent(event: string, args: string[]): void {
    if (event === 'releaseip' && args[1])
      this.onClusterEvent({ type: 'ip-released', ip: args[1], pnn: this.cluster.pnn, at: Date.now() });
    else if (event === 'ipreallocated' || event === 'takeip' || event === 'updateip')
      this.publicIps.refresh(`script:${event}`).catch(() => undefined);
  }

  private onClusterMessage(bytes: Uint8Array): void {
    const parsed = decodeClusterMessage(bytes);
    if (!parsed.ok) {
      this.metrics.parseErrors.inc({ parser: 'cluster-message', code: parsed.error.code });
      this.log.warn({ code: parsed.error.code }, parsed.error.message);
      return;
    }
    const m = parsed.value;
    if (m.type === 'query') {
      const reply = encodeClusterMessage({
        type: 'reply',
        id: m.id,
        from: this.cluster.pnn,
        body: this.channelRows(),
      });
      this.cluster.sendToNode(m.from, reply).catch(() => undefined);
      return;
    }
    if (m.type === 'reply') {
      this.pendingQueries.get(m.id)?.(m.from, m.body);
      return;
    }
    if (m.type === 'claim' && m.pnn !== this.cluster.pnn && this.registry.has(m.clientGuid)) {
      const v = this.registry.view(m.clientGuid);
      if (v && v.state !== 'tearingDown' && v.state !== 'gone') {
        this.log.info(
          { client: m.clientGuid, node: m.pnn },
          `client ${m.clientGuid} connected to node ${m.pnn}: dropping it here`,
        );
        this.registry.send(m.clientGuid, { type: 'DROP', toNode: m.pnn });
      }
    }
  }

  private onTransition(record: TransitionRecord): void {
    this.emit('event', { kind: 'transition', record });
  }
}
