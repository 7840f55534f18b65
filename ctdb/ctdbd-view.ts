import { EventEmitter } from 'node:events';
import { unwrap } from '../wire/errors.js';
import type { ClusterEvent, ClusterView, ClusterViewEvents, NodeInfo, PublicIp } from './cluster-view.js';
import { CtdbConnection, CtdbDisconnectedError } from './connection.js';
import {
  CtdbControl,
  CtdbSrvid,
  connectionPush,
  ipMessagePull,
  NodeFlags,
  nodeFlagNames,
  nodeMapPull,
  PUBLIC_IP_FLAGS_ONLY_AVAILABLE,
  publicIpsPull,
  type Runstate,
  runstatePull,
} from './protocol/controls.js';
import { CtdbDestination } from './protocol/header.js';

export interface CtdbdViewOptions {
  socketPath: string;
  /** Per-control timeout. */
  timeoutMs?: number;
  /** Reconnect backoff: first delay, doubling up to the max (default 100 ms to 1 s: a unix connect is cheap, and
   * every second away from ctdbd is a second with public IPs treated as released). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  srvid?: bigint;
  /** Called with one line per notable thing (connect failures, protocol errors). */
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

const SUBSCRIPTIONS = [CtdbSrvid.RELEASE_IP, CtdbSrvid.TAKE_IP, CtdbSrvid.RECONFIGURE] as const;

/**
 * The cluster as ctdbd on this node sees it, over ctdbd's unix socket in its own protocol. Reconnects
 * with backoff when ctdbd goes away, then re-registers srvids and re-reads pnn before reporting
 * 'restored'.
 */
export class CtdbdClusterView extends EventEmitter<ClusterViewEvents> implements ClusterView {
  readonly kind = 'ctdbd' as const;
  private connection: CtdbConnection | undefined;
  private running = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private currentPnn = -1;
  private readonly srvid: bigint;
  private readonly timeoutMs: number;
  /** Every public address ever reported: a public IP never turns into a fixed one. */
  private readonly everPublic = new Set<string>();

  constructor(private readonly options: CtdbdViewOptions) {
    super();
    this.srvid = options.srvid ?? CtdbSrvid.MCC;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.backoffMs = options.backoffMinMs ?? 100;
  }

  get pnn(): number {
    return this.currentPnn;
  }

  get connected(): boolean {
    return this.connection !== undefined && !this.connection.isClosed;
  }

  /** Connects once; rejects if ctdbd does not answer (the caller decides whether to retry or fall back). */
  async start(): Promise<void> {
    this.running = true;
    await this.establish();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    const c = this.connection;
    this.connection = undefined;
    c?.close();
  }

  async runstate(): Promise<Runstate> {
    const reply = await this.conn().control(CtdbControl.GET_RUNSTATE, { timeoutMs: this.timeoutMs });
    return unwrap(runstatePull(reply.data));
  }

  async nodeMap(): Promise<NodeInfo[]> {
    const reply = await this.conn().control(CtdbControl.GET_NODEMAP, { timeoutMs: this.timeoutMs });
    return unwrap(nodeMapPull(reply.data)).map((n) => ({
      pnn: n.pnn,
      flags: n.flags,
      flagNames: nodeFlagNames(n.flags),
      address: n.address,
      ok: n.flags === 0,
    }));
  }

  /** One node's own public_addresses with owners as that node knows them. */
  async publicIpsOf(pnn: number | 'local', onlyAvailable = false): Promise<PublicIp[]> {
    const reply = await this.conn().control(CtdbControl.GET_PUBLIC_IPS, {
      destnode: pnn === 'local' ? CtdbDestination.CURRENT_NODE : pnn,
      flags: onlyAvailable ? PUBLIC_IP_FLAGS_ONLY_AVAILABLE : 0,
      timeoutMs: this.timeoutMs,
    });
    return unwrap(publicIpsPull(reply.data)).map((e) => ({ address: e.address, owner: e.owner }));
  }

  /**
   * The union over every reachable node: each node answers from its own public_addresses, so asking
   * only the local node would miss addresses other nodes may host.
   */
  async publicIps(): Promise<PublicIp[]> {
    const nodes = await this.nodeMap();
    const reachable = nodes.filter((n) => !(n.flags & (NodeFlags.DISCONNECTED | NodeFlags.DELETED)));
    const answers = await Promise.allSettled(reachable.map((n) => this.publicIpsOf(n.pnn)));
    const union = new Map<string, PublicIp>();
    answers.forEach((a, i) => {
      if (a.status !== 'fulfilled') return;
      for (const ip of a.value) {
        const known = union.get(ip.address);
        // The node that hosts an address is the authority on it.
        if (
          !known ||
          (known.owner === undefined && ip.owner !== undefined) ||
          ip.owner === reachable[i]!.pnn
        ) {
          union.set(ip.address, ip);
        }
      }
    });
    if (answers.every((a) => a.status === 'rejected') && answers.length > 0) {
      throw (answers[0] as PromiseRejectedResult).reason;
    }
    for (const address of union.keys()) this.everPublic.add(address);
    return [...union.values()].sort((a, b) => a.address.localeCompare(b.address));
  }

  async registerConnection(
    server: { address: string; port: number },
    client: { address: string; port: number },
  ): Promise<void> {
    await this.conn().control(CtdbControl.TCP_CLIENT, {
      data: connectionPush({ client, server }),
      timeoutMs: this.timeoutMs,
    });
  }

  async forgetConnection(
    server: { address: string; port: number },
    client: { address: string; port: number },
  ): Promise<void> {
    await this.conn().control(CtdbControl.TCP_REMOVE, {
      data: connectionPush({ client, server }),
      timeoutMs: this.timeoutMs,
    });
  }

  /** Every address ever seen as public during this process's life (a superset of publicIps()). */
  knownPublicAddresses(): Set<string> {
    return new Set(this.everPublic);
  }

  async sendToNode(destination: number | 'all', payload: Uint8Array): Promise<void> {
    this.conn().sendMessage(
      destination === 'all' ? CtdbDestination.BROADCAST_ALL : destination,
      this.srvid,
      payload,
    );
  }

  private conn(): CtdbConnection {
    const c = this.connection;
    if (!c || c.isClosed)
      throw new CtdbDisconnectedError(`not connected to ctdbd at ${this.options.socketPath}`);
    return c;
  }

  private async establish(): Promise<void> {
    const c = await CtdbConnection.open(this.options.socketPath, this.timeoutMs);
    try {
      c.on('message', (m) => this.onMessage(m.srvid, m.data));
      c.on('protocolError', (e) =>
        this.options.log?.('warn', `ctdbd sent a packet that does not parse: ${e.message}`),
      );
      const pnnReply = await c.control(CtdbControl.GET_PNN, { timeoutMs: this.timeoutMs });
      c.pnn = pnnReply.status;
      for (const srvid of [...SUBSCRIPTIONS, this.srvid]) {
        await c.control(CtdbControl.REGISTER_SRVID, { srvid, timeoutMs: this.timeoutMs });
      }
      this.currentPnn = pnnReply.status;
    } catch (error) {
      c.close();
      throw error;
    }
    this.connection = c;
    this.backoffMs = this.options.backoffMinMs ?? 100;
    c.once('close', () => this.onClose(c));
  }

  private onClose(c: CtdbConnection): void {
    if (this.connection !== c) return;
    this.connection = undefined;
    if (!this.running) return;
    this.emitEvent({
      type: 'lost',
      reason: `ctdbd connection at ${this.options.socketPath} closed`,
      at: Date.now(),
    });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs ?? 1000);
    this.reconnectTimer = setTimeout(() => {
      this.establish().then(
        () => {
          if (!this.running) {
            this.connection?.close();
            return;
          }
          this.options.log?.('info', 'reconnected to ctdbd', { pnn: this.currentPnn });
          // Public IP ownership may have changed while we were away: fill the cache before reporting.
          this.publicIps()
            .catch(() => [])
            .finally(() => this.emitEvent({ type: 'restored', at: Date.now() }));
        },
        (error: Error) => {
          this.options.log?.('warn', `ctdbd reconnect failed: ${error.message}`, {
            retryInMs: this.backoffMs,
          });
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  private onMessage(srvid: bigint, data: Uint8Array): void {
    const at = Date.now();
    if (srvid === CtdbSrvid.RELEASE_IP || srvid === CtdbSrvid.TAKE_IP) {
      const ip = ipMessagePull(data);
      if (!ip.ok) {
        this.options.log?.(
          'warn',
          `ignoring malformed ${srvid === CtdbSrvid.RELEASE_IP ? 'RELEASE_IP' : 'TAKE_IP'}: ${ip.error.message}`,
        );
        return;
      }
      this.everPublic.add(ip.value);
      this.emitEvent({
        type: srvid === CtdbSrvid.RELEASE_IP ? 'ip-released' : 'ip-taken',
        ip: ip.value,
        pnn: this.currentPnn,
        at,
      });
    } else if (srvid === CtdbSrvid.RECONFIGURE) {
      this.emitEvent({ type: 'reconfigured', at });
    } else if (srvid === this.srvid) {
      this.emit('message', data);
    }
  }

  private emitEvent(event: ClusterEvent): void {
    this.emit('event', event);
  }
}
