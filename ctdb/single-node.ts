import { EventEmitter } from 'node:events';
import type { ClusterView, ClusterViewEvents, NodeInfo, PublicIp } from './cluster-view.js';

/**
 * No cluster: one node, no public IPs, no events. Messages to this node (or 'all') loop back, so the
 * coordinator's one-client-one-node announcements are harmless.
 */
export class SingleNodeView extends EventEmitter<ClusterViewEvents> implements ClusterView {
  readonly kind = 'single-node' as const;
  readonly connected = true;

  constructor(
    readonly pnn = 0,
    private readonly address = '127.0.0.1',
  ) {
    super();
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async nodeMap(): Promise<NodeInfo[]> {
    return [{ pnn: this.pnn, flags: 0, flagNames: [], address: this.address, ok: true }];
  }

  async publicIps(): Promise<PublicIp[]> {
    return [];
  }

  async sendToNode(destination: number | 'all', payload: Uint8Array): Promise<void> {
    if (destination !== 'all' && destination !== this.pnn)
      throw new Error(`single-node mode has no node ${destination}`);
    queueMicrotask(() => this.emit('message', payload));
  }
}
