import type { EventEmitter } from 'node:events';
import type { SocketTuple } from '../../native/index.js';
import type { ChannelRecord, Owner } from '../../statecharts/types.js';
import type { AcceptedConnection } from '../front-door.js';
import type { DestroyOutcome } from './destroy.js';

export interface HandoffRequest {
  clientGuid: string;
  channelId: number;
  connection: AcceptedConnection;
}

export interface BackendEvents {
  negotiated: [{ clientGuid: string; channelId: number; dialect: number }];
  bound: [{ clientGuid: string; channelId: number }];
  'channel-closed': [{ clientGuid: string; channelId: number }];
  /**
   * An owner process (re-)registered and has said what it kept from before mccd's restart (`clients`;
   * 0 for one that kept nothing): restored clients of its that it did not report are not held by it.
   */
  'owner-back': [{ ownerId: string; clients: number }];
  /** An owner process went away: its clients are torn down. */
  'owner-gone': [{ ownerId: string; reason: string }];
  /** SOCK_DESTROY could not kill a channel being torn down (e.g. EPERM without CAP_NET_ADMIN). */
  'destroy-failed': [{ clientGuid: string; tuple: string; errno: number }];
  'protocol-error': [{ parser: string; code: string; message: string }];
  /** An owner process sent a message mccd refused (reason: BadWorkerMessage, or 'disconnected'). */
  'bad-message': [{ ownerId: string | undefined; pid: number; reason: string; message: string }];
  /** A message to an owner nothing waits for could not be sent (a teardown order still times out). */
  'send-failed': [{ what: string; ownerId: string | undefined; error: Error }];
  /** The backend's own listener (the worker socket) failed an accept; it backs off and goes on. */
  'accept-error': [{ listener: string; code: string; message: string }];
}

/**
 * A handoff the backend declined without failing: the client left while the connection waited, or the
 * wait queue shed it under overload. Counted as a refusal (mcc_rejected_connections_total), not a failure.
 */
export class HandoffRefused extends Error {
  override readonly name = 'HandoffRefused';
  constructor(
    readonly reason: 'client-gone' | 'overloaded',
    message: string,
  ) {
    super(message);
  }
}

/** The backends there are; statecharts/ sees owners only as opaque ids. */
export type BackendKind = 'worker' | 'smbd';

/** Where channels go: worker processes over the worker protocol, or real smbd in inetd mode. */
export interface Backend extends EventEmitter<BackendEvents> {
  readonly kind: BackendKind;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The owner for a client's first channel, or undefined when none can take it. */
  chooseOwner(clientGuid: string): Owner | undefined;
  /** Gives the connection to the owner; afterwards mccd's own copy is closed. */
  handOff(owner: Owner, request: HandoffRequest): Promise<void>;
  /**
   * Ends every channel of a client; resolves once they are closed (or known gone), with what
   * SOCK_DESTROY did when the backend killed them by 4-tuple (undefined when their owner closed them).
   */
  teardown(
    clientGuid: string,
    owner: Owner | undefined,
    channels: ChannelRecord[],
    reason: string,
  ): Promise<DestroyOutcome | undefined>;
  /**
   * After a restart: a restored channel this backend's owner still serves, found by the caller (the
   * kernel's socket table, the smbd holding it); the backend watches it again as if it had handed it off.
   * Workers report their channels themselves (`held`), so the worker backend ignores this.
   */
  adopt(clientGuid: string, channelId: number, tuple: SocketTuple): void;
  /** The client's life is over on this node (its last channel closed or its teardown finished). */
  clientGone(clientGuid: string): void;
  /**
   * ctdbd went away (false) or answers again (true). A backend whose processes depend on ctdbd (clustered
   * smbd) stops keeping processes ready meanwhile: ones started before would fail their first client.
   */
  clusterConnection?(connected: boolean): void;
  /** A line for `mcc status`. */
  describe(): Record<string, unknown>;
  /** Connections past admission still waiting for an owner process (an smbd pool member). */
  waitingCount?(): number;
}
