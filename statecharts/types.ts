/** Data carried by the client and channel machines. Plain JSON only: snapshots are persisted. */

import type { SocketTuple } from '../native/index.js';

export type Transport = 'tcp' | 'rdma';

export type ChannelState = 'accepted' | 'handedOff' | 'bound' | 'active' | 'failing' | 'closed';

export interface ChannelRecord {
  /** Monotonic per client, starting at 1: the order Samba walks when retrying a break. */
  id: number;
  state: ChannelState;
  tuple: SocketTuple;
  interfaceName?: string;
  transport: Transport;
  /** The local address is a CTDB public (movable) IP. */
  onPublicIp: boolean;
  createdAt: number;
}

/**
 * The process a client's channels are handed to. Opaque here: which kinds of owner exist is the
 * coordinator's business (its backends); the machines only compare ids.
 */
export interface Owner {
  kind: string;
  /** Worker id or smbd pid, as the coordinator names it. */
  id: string;
  pid?: number;
}

export type TeardownReason =
  | { kind: 'release-ip'; ip: string }
  | { kind: 'dropped'; toNode: number }
  | { kind: 'owner-crashed'; owner: string }
  | { kind: 'admin'; by?: string }
  | { kind: 'cluster-lost' }
  /** After a restart: what the previous mccd knew did not match the kernel, a backend or the cluster. */
  | { kind: 'unmatched-after-restart'; why: string };

/**
 * A bound on one client's records, not a protocol rule: smbd takes any number of connections per
 * ClientGUID (it limits channels bound to one session to 32, as Windows does, which mccd cannot see).
 * The coordinator applies its own, configurable bound per source address below this.
 */
export const MAX_CHANNELS_PER_CLIENT = 1024;

/** How long a channel on a public IP that closed still counts for a RELEASE_IP of that IP. */
export const LOST_PUBLIC_IP_WINDOW_MS = 60_000;

/** What the client machine gives the actor that carries its teardown out. */
export interface TeardownRequest {
  clientGuid: string;
  owner: Owner | undefined;
  /** The channels the teardown closed, whose sockets must go. */
  channels: ChannelRecord[];
  reason: TeardownReason;
  /** When the cause happened (a cluster event's own time when it has one): teardown latency counts from here. */
  causedAt: number | undefined;
}

export interface ClientContext {
  clientGuid: string;
  owner: Owner | undefined;
  dialect: number | undefined;
  channels: ChannelRecord[];
  nextChannelId: number;
  teardownReason: TeardownReason | undefined;
  /** Channel-accept attempts refused (after teardown began, or past the 32-channel limit). */
  refusedChannels: number;
  /** The channels teardown closed: the teardown actor closes their sockets (by 4-tuple where it must). */
  closedByTeardown: ChannelRecord[];
  createdAt: number;
  /** When the teardown's cause happened; undefined for an event sent without its time. */
  teardownStartedAt: number | undefined;
  /**
   * Public IPs this client recently lost a channel on, and when: ctdb's releaseip kills those channels
   * before RELEASE_IP arrives, and RELEASE_IP must still end the rest of the client. At most 8.
   */
  lostPublicIps?: { ip: string; at: number }[];
}
