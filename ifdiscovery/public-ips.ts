import { EventEmitter } from 'node:events';
import type { ClusterEvent, ClusterView } from '../ctdb/cluster-view.js';
import { canonicalIp } from '../wire/ip.js';

/**
 * Every CTDB public IP of the whole cluster (all nodes' public_addresses, not only this node's current
 * ones), kept fresh from the ClusterView. The set only grows: an address that was ever public may move
 * here at any moment, so it is never announced.
 */
export class PublicIpTracker extends EventEmitter<{
  changed: [{ trigger: string; eventAt: number | undefined }];
  /** A refresh this tracker started on its own failed; the set keeps what it knew. */
  'refresh-failed': [{ trigger: string; error: Error }];
}> {
  private readonly known = new Set<string>();
  private loaded = false;
  private readonly onEvent = (e: ClusterEvent) => this.handle(e);

  constructor(
    private readonly view: ClusterView | undefined,
    staticPublicIps: string[] = [],
  ) {
    super();
    for (const ip of staticPublicIps) this.known.add(canonicalIp(ip));
    // Without a cluster there is nothing to learn: the static list is all there is.
    if (!view || view.kind === 'single-node') this.loaded = true;
  }

  /** True once the cluster's list has been read at least once (or there is no cluster). */
  get ready(): boolean {
    return this.loaded;
  }

  has(address: string): boolean {
    return this.known.has(canonicalIp(address));
  }

  addresses(): string[] {
    return [...this.known].sort();
  }

  async start(): Promise<void> {
    this.view?.on('event', this.onEvent);
    await this.refresh('start').catch((error: Error) => this.refreshFailed('start', error));
  }

  stop(): void {
    this.view?.off('event', this.onEvent);
  }

  async refresh(trigger: string, eventAt?: number): Promise<void> {
    if (!this.view || this.view.kind === 'single-node') return;
    const ips = await this.view.publicIps();
    for (const ip of ips) this.known.add(canonicalIp(ip.address));
    this.loaded = true;
    this.emit('changed', { trigger, eventAt });
  }

  private refreshFailed(trigger: string, error: Error): void {
    this.emit('refresh-failed', { trigger, error });
  }

  private handle(e: ClusterEvent): void {
    switch (e.type) {
      case 'ip-released':
      case 'ip-taken':
        this.known.add(canonicalIp(e.ip));
        this.emit('changed', { trigger: e.type, eventAt: e.at });
        return;
      case 'reconfigured':
      case 'restored':
        this.refresh(e.type, e.at).catch((error: Error) => this.refreshFailed(e.type, error));
        return;
      case 'lost':
        // Keep everything: the set must not shrink while ctdbd is away.
        return;
    }
  }
}
