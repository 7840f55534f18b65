/**
 * Retrying an oplock/lease break on another channel (Samba bug 11897). The break is sent on one channel;
 * after a delay derived from that connection's RTO the driver is asked for the transport's state
 * (tcpInfo / SIOCOUTQ): bytes still unacknowledged mean the client never got it, so the next channel is
 * tried. The machine emits 'send', 'probe', 'delivered' and 'gaveUp'; the driver does the I/O.
 *
 * Nothing in mccd drives this: mccd hands connections off before any SMB2 request past NEGOTIATE, so it
 * never sees an oplock or lease break. It is meant for a worker that implements SMB2 itself (the other
 * side of the worker protocol, docs/worker-protocol.md), linking statecharts/ as a library; until one
 * exists it is exercised by its tests and shown by `mcc machines`.
 */
import { assign, emit, setup } from 'xstate';

export type BreakPolicy = 'samba' | 'windows';

export interface BreakChannel {
  id: number;
  /** Retransmission timeout of the connection (TCP_INFO rto), in ms. */
  rtoMs: number;
}

export interface BreakRetryInput {
  breakId: string;
  channels: BreakChannel[];
  policy: BreakPolicy;
}

export type BreakRetryEvent =
  /** The client answered the break (lease/oplock break acknowledgment). */
  | { type: 'ACKED' }
  /** The driver's answer to 'probe'. */
  | { type: 'TRANSPORT_STATUS'; channelId: number; unacked: boolean }
  /** A candidate channel went away. */
  | { type: 'CHANNEL_GONE'; channelId: number };

export type BreakRetryEmitted =
  | { type: 'send'; breakId: string; channelId: number; attempt: number }
  | { type: 'probe'; breakId: string; channelId: number }
  | { type: 'delivered'; breakId: string; channelId: number }
  | { type: 'gaveUp'; breakId: string; tried: number[] };

/** Samba waits one RTO, clamped to 0.2–1 s, before judging whether the break reached the client. */
export const MIN_RETRY_MS = 200;
export const MAX_RETRY_MS = 1000;

export function retryDelayFor(rtoMs: number): number {
  if (!Number.isFinite(rtoMs)) return MAX_RETRY_MS;
  return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, Math.round(rtoMs)));
}

/** Channel order by policy: Samba walks every channel oldest first; Windows uses only the newest. */
export function breakCandidates(channels: BreakChannel[], policy: BreakPolicy): BreakChannel[] {
  const byId = [...channels].sort((a, b) => a.id - b.id);
  return policy === 'windows' ? byId.slice(-1) : byId;
}

interface Ctx {
  breakId: string;
  candidates: BreakChannel[];
  index: number;
  tried: number[];
}

const current = (c: Ctx): BreakChannel | undefined => c.candidates[c.index];

export const breakRetryMachine = setup({
  types: {
    context: {} as Ctx,
    events: {} as BreakRetryEvent,
    input: {} as BreakRetryInput,
    emitted: {} as BreakRetryEmitted,
  },
  guards: {
    haveCandidate: ({ context }) => current(context) !== undefined,
    isCurrentChannel: ({ context, event }) =>
      (event.type === 'TRANSPORT_STATUS' || event.type === 'CHANNEL_GONE') &&
      event.channelId === current(context)?.id,
    transportAcked: ({ event }) => event.type === 'TRANSPORT_STATUS' && !event.unacked,
  },
  actions: {
    sendOnCurrent: emit(({ context }) => ({
      type: 'send' as const,
      breakId: context.breakId,
      channelId: current(context)!.id,
      // recordTry ran first in the same entry, so this attempt is already counted.
      attempt: context.tried.length,
    })),
    recordTry: assign(({ context }) => ({ tried: [...context.tried, current(context)!.id] })),
    probeCurrent: emit(({ context }) => ({
      type: 'probe' as const,
      breakId: context.breakId,
      channelId: current(context)!.id,
    })),
    advance: assign(({ context }) => ({ index: context.index + 1 })),
    announceDelivered: emit(({ context }) => ({
      type: 'delivered' as const,
      breakId: context.breakId,
      channelId: context.tried.at(-1) ?? -1,
    })),
    announceGaveUp: emit(({ context }) => ({
      type: 'gaveUp' as const,
      breakId: context.breakId,
      tried: context.tried,
    })),
  },
  delays: {
    retryDelay: ({ context }) => retryDelayFor(current(context)?.rtoMs ?? MAX_RETRY_MS),
  },
}).createMachine({
  id: 'breakRetry',
  context: ({ input }) => ({
    breakId: input.breakId,
    candidates: breakCandidates(input.channels, input.policy),
    index: 0,
    tried: [],
  }),
  initial: 'choosing',
  states: {
    choosing: {
      always: [{ guard: 'haveCandidate', target: 'sent' }, { target: 'gaveUp' }],
    },
    sent: {
      entry: ['recordTry', 'sendOnCurrent'],
      after: { retryDelay: 'probing' },
      on: {
        ACKED: 'delivered',
        CHANNEL_GONE: { guard: 'isCurrentChannel', target: 'choosing', actions: 'advance' },
      },
    },
    probing: {
      entry: 'probeCurrent',
      on: {
        ACKED: 'delivered',
        TRANSPORT_STATUS: [
          { guard: 'transportAcked', target: 'delivered' },
          { guard: 'isCurrentChannel', target: 'choosing', actions: 'advance' },
        ],
        CHANNEL_GONE: { guard: 'isCurrentChannel', target: 'choosing', actions: 'advance' },
      },
    },
    delivered: { type: 'final', entry: 'announceDelivered' },
    gaveUp: { type: 'final', entry: 'announceGaveUp' },
  },
});
