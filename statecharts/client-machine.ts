/**
 * One client (ClientGUID) on this node: its owner process, dialect, channels and teardown. One root actor
 * per client, kept in ClientRegistry's Map (one parent spawning thousands of children is O(N²) in XState 5).
 *
 * Teardown lives here whole: the event that causes it carries its time (`at`), the machine decides,
 * invokes the `teardown` actor (the coordinator provides one that calls its backend) and is gone when
 * that actor settles, or at the timeout if it never does.
 */
import { and, assign, fromPromise, type PromiseActorLogic, setup } from 'xstate';
import { type ChannelLifecycleEvent, nextChannelState } from './channel-machine.js';
import {
  type ChannelRecord,
  type ClientContext,
  LOST_PUBLIC_IP_WINDOW_MS,
  MAX_CHANNELS_PER_CLIENT,
  type Owner,
  type TeardownReason,
  type TeardownRequest,
} from './types.js';

export type NewChannel = Omit<ChannelRecord, 'id' | 'state'>;

export type ClientEvent =
  /** `owner`: the client's owner if it has none yet (its first channel), so one event does both. */
  | { type: 'CHANNEL_ACCEPTED'; channel: NewChannel; owner?: Owner }
  | { type: 'OWNER_ASSIGNED'; owner: Owner }
  /** With `channelId`: that channel answered the NEGOTIATE, i.e. it is ACTIVATED too (one event, not two). */
  | { type: 'NEGOTIATED'; dialect: number; channelId?: number }
  | { type: 'CHANNEL_EVENT'; channelId: number; event: Exclude<ChannelLifecycleEvent['type'], 'CLOSED'> }
  | ({ type: 'CHANNEL_CLOSED'; channelId: number } & CauseTime)
  | ({ type: 'RELEASE_IP'; ip: string } & CauseTime)
  | ({ type: 'CLUSTER_LOST' } & CauseTime)
  | ({ type: 'DROP'; toNode: number } & CauseTime)
  | ({ type: 'OWNER_CRASHED'; owner: string } & CauseTime)
  | ({ type: 'ADMIN_TEARDOWN'; by?: string } & CauseTime)
  /** A restored client whose teardown a previous mccd began and did not finish: it is carried out again. */
  | ({ type: 'RESUME_TEARDOWN'; reason: TeardownReason } & CauseTime)
  /** The teardown is over by other means than the teardown actor (a machine used without a backend). */
  | { type: 'TEARDOWN_DONE' };

/** The events that can start a teardown carry when their cause happened (ClientRegistry fills it in). */
interface CauseTime {
  at?: number;
}

export const TEARDOWN_CAUSES: ReadonlySet<ClientEvent['type']> = new Set([
  'CHANNEL_CLOSED',
  'RELEASE_IP',
  'CLUSTER_LOST',
  'DROP',
  'OWNER_CRASHED',
  'ADMIN_TEARDOWN',
  'RESUME_TEARDOWN',
]);

export type TeardownLogic = PromiseActorLogic<void, TeardownRequest>;

/**
 * Without a backend nothing can close the channels, so the default teardown never settles: the client
 * waits for TEARDOWN_DONE or its timeout, as tests and the worker side expect.
 */
const awaitTeardownDone: TeardownLogic = fromPromise<void, TeardownRequest>(() => new Promise(() => {}));

export interface ClientInput {
  clientGuid: string;
  createdAt: number;
  /** How long the teardown actor may take before the client is gone anyway. */
  teardownTimeoutMs?: number;
}

type Ctx = ClientContext & { teardownTimeoutMs: number };

function channel(context: Ctx, id: number): ChannelRecord | undefined {
  return context.channels.find((c) => c.id === id);
}

export const clientMachine = setup({
  types: {
    context: {} as Ctx,
    events: {} as ClientEvent,
    input: {} as ClientInput,
  },
  actors: { teardown: awaitTeardownDone },
  guards: {
    underChannelLimit: ({ context }) => context.channels.length < MAX_CHANNELS_PER_CLIENT,
    ownerCompatible: ({ context, event }) =>
      event.type === 'OWNER_ASSIGNED' && (context.owner === undefined || context.owner.id === event.owner.id),
    channelTransitionAllowed: ({ context, event }) => {
      if (event.type !== 'CHANNEL_EVENT') return false;
      const c = channel(context, event.channelId);
      return c !== undefined && nextChannelState(c.state, event.event) !== undefined;
    },
    closedLastChannel: ({ context, event }) =>
      event.type === 'CHANNEL_CLOSED' &&
      context.channels.length === 1 &&
      context.channels[0]!.id === event.channelId,
    // A channel on the IP now, or one lost on it shortly before: ctdb's releaseip resets the channels on
    // the IP before RELEASE_IP reaches mccd, and the client's other channels must go all the same.
    hasChannelOnReleasedIp: ({ context, event }) =>
      event.type === 'RELEASE_IP' &&
      (context.channels.some((c) => c.tuple.localAddress === event.ip) ||
        (context.lostPublicIps ?? []).some(
          (l) => l.ip === event.ip && (event.at ?? Date.now()) - l.at <= LOST_PUBLIC_IP_WINDOW_MS,
        )),
    hasPublicChannel: ({ context }) => context.channels.some((c) => c.onPublicIp),
    isActivation: ({ event }) => event.type === 'CHANNEL_EVENT' && event.event === 'ACTIVATED',
    isOwnerThatCrashed: ({ context, event }) =>
      event.type === 'OWNER_CRASHED' && context.owner?.id === event.owner,
  },
  actions: {
    addChannel: assign(({ context, event }) => {
      if (event.type !== 'CHANNEL_ACCEPTED') return {};
      const record: ChannelRecord = { ...event.channel, id: context.nextChannelId, state: 'accepted' };
      return {
        channels: [...context.channels, record],
        nextChannelId: context.nextChannelId + 1,
        // As OWNER_ASSIGNED would: a client never has two owners, so an offer to a client with one is moot.
        ...(event.owner && context.owner === undefined ? { owner: event.owner } : {}),
      };
    }),
    refuseChannel: assign(({ context }) => ({ refusedChannels: context.refusedChannels + 1 })),
    assignOwner: assign(({ event }) => (event.type === 'OWNER_ASSIGNED' ? { owner: event.owner } : {})),
    recordDialect: assign(({ context, event }) => {
      if (event.type !== 'NEGOTIATED') return {};
      const id = event.channelId;
      if (id === undefined) return { dialect: event.dialect };
      // The channel's ACTIVATED, where its lifecycle allows it (as CHANNEL_EVENT ACTIVATED's guard says).
      return {
        dialect: event.dialect,
        channels: context.channels.map((c) =>
          c.id === id ? { ...c, state: nextChannelState(c.state, 'ACTIVATED') ?? c.state } : c,
        ),
      };
    }),
    stepChannel: assign(({ context, event }) => {
      if (event.type !== 'CHANNEL_EVENT') return {};
      return {
        channels: context.channels.map((c) =>
          c.id === event.channelId ? { ...c, state: nextChannelState(c.state, event.event) ?? c.state } : c,
        ),
      };
    }),
    removeChannel: assign(({ context, event }) => {
      if (event.type !== 'CHANNEL_CLOSED') return {};
      const closed = channel(context, event.channelId);
      const channels = context.channels.filter((c) => c.id !== event.channelId);
      if (!closed?.onPublicIp) return { channels };
      const ip = closed.tuple.localAddress;
      const lost = [
        ...(context.lostPublicIps ?? []).filter((l) => l.ip !== ip),
        { ip, at: event.at ?? Date.now() },
      ].slice(-8);
      return { channels, lostPublicIps: lost };
    }),
    recordTeardownReason: assign(({ event }): Partial<Ctx> => {
      let reason: TeardownReason;
      switch (event.type) {
        case 'RELEASE_IP':
          reason = { kind: 'release-ip', ip: event.ip };
          break;
        case 'DROP':
          reason = { kind: 'dropped', toNode: event.toNode };
          break;
        case 'OWNER_CRASHED':
          reason = { kind: 'owner-crashed', owner: event.owner };
          break;
        case 'CLUSTER_LOST':
          reason = { kind: 'cluster-lost' };
          break;
        case 'RESUME_TEARDOWN':
          reason = event.reason;
          break;
        default:
          reason = {
            kind: 'admin',
            ...(event.type === 'ADMIN_TEARDOWN' && event.by ? { by: event.by } : {}),
          };
      }
      return { teardownReason: reason };
    }),
    /** Every channel ends with its client: the teardown actor closes the sockets named in closedByTeardown. */
    closeAllChannels: assign(({ context, event }) => ({
      closedByTeardown: context.channels.map((c) => ({ ...c, state: 'closed' as const })),
      channels: [],
      teardownStartedAt: 'at' in event ? event.at : undefined,
    })),
  },
  delays: {
    teardownTimeout: ({ context }) => context.teardownTimeoutMs,
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    clientGuid: input.clientGuid,
    owner: undefined,
    dialect: undefined,
    channels: [],
    nextChannelId: 1,
    teardownReason: undefined,
    refusedChannels: 0,
    closedByTeardown: [],
    createdAt: input.createdAt,
    teardownStartedAt: undefined,
    teardownTimeoutMs: input.teardownTimeoutMs ?? 5000,
  }),
  initial: 'connected',
  states: {
    connected: {
      initial: 'negotiating',
      on: {
        CHANNEL_ACCEPTED: [
          { guard: 'underChannelLimit', actions: 'addChannel' },
          { actions: 'refuseChannel' },
        ],
        OWNER_ASSIGNED: { guard: 'ownerCompatible', actions: 'assignOwner' },
        CHANNEL_EVENT: { guard: 'channelTransitionAllowed', actions: 'stepChannel' },
        // A channel closing ends that channel only, on a public IP too: a FIN (or a reset) can come from
        // anyone who knows the ClientGUID. Only the IP's release ends the whole client (RELEASE_IP, which
        // also covers channels on that IP lost shortly before it).
        CHANNEL_CLOSED: [
          { guard: 'closedLastChannel', target: 'gone', actions: 'removeChannel' },
          { actions: 'removeChannel' },
        ],
        RELEASE_IP: {
          guard: 'hasChannelOnReleasedIp',
          target: 'tearingDown',
          actions: 'recordTeardownReason',
        },
        CLUSTER_LOST: { guard: 'hasPublicChannel', target: 'tearingDown', actions: 'recordTeardownReason' },
        DROP: { target: 'tearingDown', actions: 'recordTeardownReason' },
        OWNER_CRASHED: {
          guard: 'isOwnerThatCrashed',
          target: 'tearingDown',
          actions: 'recordTeardownReason',
        },
        ADMIN_TEARDOWN: { target: 'tearingDown', actions: 'recordTeardownReason' },
        RESUME_TEARDOWN: { target: 'tearingDown', actions: 'recordTeardownReason' },
      },
      states: {
        negotiating: {
          on: {
            NEGOTIATED: { target: 'active', actions: 'recordDialect' },
            // smbd never reports a dialect to mccd: a channel going active is proof enough.
            CHANNEL_EVENT: [
              {
                guard: and(['channelTransitionAllowed', 'isActivation']),
                target: 'active',
                actions: 'stepChannel',
              },
              { guard: 'channelTransitionAllowed', actions: 'stepChannel' },
            ],
          },
        },
        active: {
          on: {
            NEGOTIATED: { actions: 'recordDialect' },
          },
        },
      },
    },
    tearingDown: {
      entry: 'closeAllChannels',
      invoke: {
        id: 'teardown',
        src: 'teardown',
        input: ({ context }): TeardownRequest => ({
          clientGuid: context.clientGuid,
          owner: context.owner,
          channels: context.closedByTeardown,
          reason: context.teardownReason ?? { kind: 'admin' },
          causedAt: context.teardownStartedAt,
        }),
        // A teardown that failed is over too: its failure was logged where it happened, and a client
        // stuck in tearingDown would refuse every reconnect.
        onDone: 'gone',
        onError: 'gone',
      },
      on: {
        CHANNEL_ACCEPTED: { actions: 'refuseChannel' },
        TEARDOWN_DONE: 'gone',
      },
      after: { teardownTimeout: 'gone' },
    },
    gone: { type: 'final' },
  },
});

export type ClientStateValue = 'negotiating' | 'active' | 'tearingDown' | 'gone';

/** The flat state name of a client snapshot's value. */
export function clientStateName(value: unknown): ClientStateValue {
  if (typeof value === 'string') return value as ClientStateValue;
  const connected = (value as { connected?: string }).connected;
  return (connected ?? 'negotiating') as ClientStateValue;
}
