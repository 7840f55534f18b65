/**
 * What a node's sidecar knows about its cluster, from ctdbd itself or from the Redis simulation. Both
 * implementations pass test/peers/ctdb/contract.ts.
 */
import type { EventEmitter } from 'node:events';

export interface NodeInfo {
  pnn: number;
  flags: number;
  flagNames: string[];
  address: string;
  /** No flag set: connected, not banned, disabled, stopped or unhealthy. */
  ok: boolean;
}

export interface PublicIp {
  address: string;
  /** The node hosting it now, or undefined when none does. */
  owner: number | undefined;
}

export type ClusterEvent =
  /** This node released `ip` (ctdbd's RELEASE_IP, sent after the releaseip event script ran). */
  | { type: 'ip-released'; ip: string; pnn: number; at: number }
  /** This node took `ip` (TAKE_IP). */
  | { type: 'ip-taken'; ip: string; pnn: number; at: number }
  /** A recovery finished (RECONFIGURE): ownership may have changed anywhere. */
  | { type: 'reconfigured'; at: number }
  /**
   * The connection to the local cluster daemon is gone. The coordinator must treat every public IP this
   * node hosted as released: a graceful `ctdb shutdown` sends no RELEASE_IP, a crash sends nothing.
   */
  | { type: 'lost'; reason: string; at: number }
  /** Connected again, srvids re-registered and state re-read. */
  | { type: 'restored'; at: number };

export interface ClusterViewEvents {
  event: [ClusterEvent];
  /** A payload sent on the mcc srvid by a sidecar (possibly this one, for broadcasts). */
  message: [Uint8Array];
}

export type ClusterKind = 'ctdbd' | 'redis' | 'single-node';

export interface ClusterView extends EventEmitter<ClusterViewEvents> {
  readonly kind: ClusterKind;
  /** This node's number (known after start()). */
  readonly pnn: number;
  readonly connected: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodeMap(): Promise<NodeInfo[]>;
  /** The union over all nodes of their public IPs, with current owners. */
  publicIps(): Promise<PublicIp[]>;
  /** Sends on the mcc srvid to one node or to all (including this one). */
  sendToNode(destination: number | 'all', payload: Uint8Array): Promise<void>;
  /**
   * Tells the cluster about a client connection to a public IP of this node (ctdbd: TCP_CLIENT), so the
   * node that takes the IP over resets it with tickle ACKs; `forget` undoes it when the channel closes.
   */
  registerConnection?(
    server: { address: string; port: number },
    client: { address: string; port: number },
  ): Promise<void>;
  forgetConnection?(
    server: { address: string; port: number },
    client: { address: string; port: number },
  ): Promise<void>;
}
