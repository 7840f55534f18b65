import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { ClusterEvent, ClusterView, ClusterViewEvents, NodeInfo, PublicIp } from './cluster-view.js';
import { CtdbDisconnectedError } from './connection.js';
import { NodeFlags, nodeFlagNames } from './protocol/controls.js';

/**
 * A simulated cluster in Redis for fast tests and demos: hashes hold the node map and public-IP owners,
 * pub/sub carries events with ctdbd's delivery rules (RELEASE_IP only to the releasing node, TAKE_IP to the
 * taker, RECONFIGURE to all after a recovery, nothing from a crashed node). SimulatedCluster drives it.
 */
interface SimEvent {
  type: 'ip-released' | 'ip-taken' | 'reconfigured' | 'down' | 'up';
  ip?: string;
}

function keys(cluster: string) {
  const p = `mcc:sim:${cluster}`;
  return {
    nodes: `${p}:nodes`,
    ips: `${p}:ips`,
    up: `${p}:up`,
    nodeChannel: (pnn: number) => `${p}:node:${pnn}`,
    allChannel: `${p}:all`,
    msgChannel: (pnn: number) => `${p}:msg:${pnn}`,
    msgAll: `${p}:msg:all`,
  };
}

export interface RedisViewOptions {
  url: string;
  cluster: string;
  pnn: number;
}

export class RedisClusterView extends EventEmitter<ClusterViewEvents> implements ClusterView {
  readonly kind = 'redis' as const;
  private commands: Redis | undefined;
  private subscriber: Redis | undefined;
  private nodeUp = false;
  private redisUp = false;
  private readonly k: ReturnType<typeof keys>;

  constructor(private readonly options: RedisViewOptions) {
    super();
    this.k = keys(options.cluster);
  }

  get pnn(): number {
    return this.options.pnn;
  }

  get connected(): boolean {
    return this.redisUp && this.nodeUp;
  }

  async start(): Promise<void> {
    const redisOptions = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (n: number) => Math.min(50 * 2 ** n, 2000),
    };
    this.commands = new Redis(this.options.url, redisOptions);
    this.subscriber = new Redis(this.options.url, redisOptions);
    await Promise.all([this.commands.connect(), this.subscriber.connect()]);
    this.subscriber.on('message', (channel: string, text: string) => this.onMessage(channel, text));
    await this.subscriber.subscribe(
      this.k.nodeChannel(this.pnn),
      this.k.allChannel,
      this.k.msgChannel(this.pnn),
      this.k.msgAll,
    );
    this.redisUp = true;
    this.nodeUp = (await this.commands.hget(this.k.up, String(this.pnn))) !== '0';
    if (!this.nodeUp) throw new CtdbDisconnectedError(`simulated node ${this.pnn} is down`);
    // The connection to Redis stands in for the connection to ctdbd: losing it is 'lost'.
    this.subscriber.on('close', () => this.setRedisUp(false));
    this.subscriber.on('ready', () => this.setRedisUp(true));
  }

  async stop(): Promise<void> {
    const c = this.commands;
    const s = this.subscriber;
    this.commands = undefined;
    this.subscriber = undefined;
    this.redisUp = false;
    s?.removeAllListeners('close');
    await Promise.allSettled([c?.quit(), s?.quit()]);
  }

  async nodeMap(): Promise<NodeInfo[]> {
    const raw = await this.redis().hgetall(this.k.nodes);
    return Object.entries(raw)
      .map(([pnn, json]) => {
        const n = JSON.parse(json) as { address: string; flags: number };
        return {
          pnn: Number(pnn),
          flags: n.flags,
          flagNames: nodeFlagNames(n.flags),
          address: n.address,
          ok: n.flags === 0,
        };
      })
      .sort((a, b) => a.pnn - b.pnn);
  }

  async publicIps(): Promise<PublicIp[]> {
    const raw = await this.redis().hgetall(this.k.ips);
    return Object.entries(raw)
      .map(([address, owner]) => ({ address, owner: owner === '-1' ? undefined : Number(owner) }))
      .sort((a, b) => a.address.localeCompare(b.address));
  }

  async sendToNode(destination: number | 'all', payload: Uint8Array): Promise<void> {
    const channel = destination === 'all' ? this.k.msgAll : this.k.msgChannel(destination);
    await this.redis().publish(channel, Buffer.from(payload).toString('base64'));
  }

  private redis(): Redis {
    if (!this.commands || !this.connected)
      throw new CtdbDisconnectedError(`simulated node ${this.pnn} is not connected`);
    return this.commands;
  }

  private setRedisUp(up: boolean): void {
    if (up === this.redisUp) return;
    this.redisUp = up;
    if (!this.nodeUp) return;
    this.emitEvent(
      up
        ? { type: 'restored', at: Date.now() }
        : { type: 'lost', reason: 'connection to Redis lost', at: Date.now() },
    );
  }

  private onMessage(channel: string, text: string): void {
    if (channel === this.k.msgAll || channel === this.k.msgChannel(this.pnn)) {
      if (this.connected) this.emit('message', new Uint8Array(Buffer.from(text, 'base64')));
      return;
    }
    let event: SimEvent;
    try {
      event = JSON.parse(text) as SimEvent;
    } catch {
      return;
    }
    const at = Date.now();
    switch (event.type) {
      case 'down':
        if (!this.nodeUp) return;
        this.nodeUp = false;
        this.emitEvent({ type: 'lost', reason: `simulated ctdbd on node ${this.pnn} went away`, at });
        return;
      case 'up':
        if (this.nodeUp) return;
        this.nodeUp = true;
        this.emitEvent({ type: 'restored', at });
        return;
      case 'reconfigured':
        if (this.nodeUp) this.emitEvent({ type: 'reconfigured', at });
        return;
      default:
        if (this.nodeUp && event.ip) this.emitEvent({ type: event.type, ip: event.ip, pnn: this.pnn, at });
    }
  }

  private emitEvent(event: ClusterEvent): void {
    this.emit('event', event);
  }
}

/** Drives a simulated cluster the way ctdbd's takeover and recovery would. */
export class SimulatedCluster {
  private readonly k: ReturnType<typeof keys>;
  private constructor(
    private readonly redis: Redis,
    readonly cluster: string,
  ) {
    this.k = keys(cluster);
  }

  static async create(
    url: string,
    cluster: string,
    nodes: { address: string }[],
    publicIps: string[],
  ): Promise<SimulatedCluster> {
    const redis = new Redis(url, { maxRetriesPerRequest: 2 });
    const sim = new SimulatedCluster(redis, cluster);
    const multi = redis.multi().del(sim.k.nodes, sim.k.ips, sim.k.up);
    nodes.forEach((n, pnn) => {
      multi.hset(sim.k.nodes, String(pnn), JSON.stringify({ address: n.address, flags: 0 }));
      multi.hset(sim.k.up, String(pnn), '1');
    });
    for (const [i, ip] of publicIps.entries()) multi.hset(sim.k.ips, ip, String(i % nodes.length));
    await multi.exec();
    return sim;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }

  async owners(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.k.ips);
    return Object.fromEntries(Object.entries(raw).map(([ip, o]) => [ip, Number(o)]));
  }

  /** Like `ctdb moveip`: the old owner releases (and is told), then the new one takes (and is told). */
  async moveIp(ip: string, to: number): Promise<void> {
    const from = Number(await this.redis.hget(this.k.ips, ip));
    if (from === to) return;
    if (from >= 0) await this.publishTo(from, { type: 'ip-released', ip });
    await this.redis.hset(this.k.ips, ip, String(to));
    await this.publishTo(to, { type: 'ip-taken', ip });
  }

  /** Like kill -9 of ctdbd: the node says nothing; survivors take its IPs in a recovery. */
  async crash(pnn: number): Promise<void> {
    await this.redis.hset(this.k.up, String(pnn), '0');
    await this.setFlags(pnn, NodeFlags.DISCONNECTED);
    await this.publishTo(pnn, { type: 'down' });
    await this.reassignFrom(pnn, false);
    await this.redis.publish(this.k.allChannel, JSON.stringify({ type: 'reconfigured' }));
  }

  async restart(pnn: number): Promise<void> {
    await this.redis.hset(this.k.up, String(pnn), '1');
    await this.setFlags(pnn, 0);
    await this.publishTo(pnn, { type: 'up' });
    await this.redis.publish(this.k.allChannel, JSON.stringify({ type: 'reconfigured' }));
  }

  /** Like `ctdb disable`: the node stays connected but releases its IPs to the others. */
  async disable(pnn: number): Promise<void> {
    await this.setFlags(pnn, NodeFlags.PERMANENTLY_DISABLED);
    await this.reassignFrom(pnn, true);
  }

  async enable(pnn: number): Promise<void> {
    await this.setFlags(pnn, 0);
  }

  private async setFlags(pnn: number, flags: number): Promise<void> {
    const raw = await this.redis.hget(this.k.nodes, String(pnn));
    if (!raw) throw new Error(`no simulated node ${pnn}`);
    await this.redis.hset(this.k.nodes, String(pnn), JSON.stringify({ ...JSON.parse(raw), flags }));
  }

  private async reassignFrom(pnn: number, announceRelease: boolean): Promise<void> {
    const nodes = await this.redis.hgetall(this.k.nodes);
    const healthy = Object.entries(nodes)
      .filter(([p, json]) => Number(p) !== pnn && (JSON.parse(json) as { flags: number }).flags === 0)
      .map(([p]) => Number(p));
    const owners = await this.owners();
    let i = 0;
    for (const [ip, owner] of Object.entries(owners)) {
      if (owner !== pnn) continue;
      const to = healthy.length > 0 ? healthy[i++ % healthy.length]! : -1;
      if (announceRelease) await this.publishTo(pnn, { type: 'ip-released', ip });
      await this.redis.hset(this.k.ips, ip, String(to));
      if (to >= 0) await this.publishTo(to, { type: 'ip-taken', ip });
    }
  }

  private async publishTo(pnn: number, event: SimEvent): Promise<void> {
    await this.redis.publish(this.k.nodeChannel(pnn), JSON.stringify(event));
  }
}
