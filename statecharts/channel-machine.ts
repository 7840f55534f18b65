import { setup } from 'xstate';
import type { ChannelState } from './types.js';

/**
 * One channel's lifecycle. Its states live as data in the client's context (a channel is not an actor of
 * its own: 100k clients × 4 channels as actors would cost ~5× the memory); this machine is the single
 * definition of which lifecycle events move a channel where, and CHANNEL_TRANSITIONS is derived from it.
 */
export type ChannelLifecycleEvent =
  | { type: 'HANDED_OFF' }
  | { type: 'BOUND' }
  | { type: 'ACTIVATED' }
  | { type: 'FAILING' }
  | { type: 'RECOVERED' }
  | { type: 'CLOSED' };

export const channelMachine = setup({
  types: { events: {} as ChannelLifecycleEvent },
}).createMachine({
  id: 'channel',
  initial: 'accepted',
  states: {
    /** Accepted at the front door; NEGOTIATE peeked. */
    accepted: { on: { HANDED_OFF: 'handedOff', FAILING: 'failing', CLOSED: 'closed' } },
    /** The fd is with the owner process. */
    handedOff: { on: { BOUND: 'bound', ACTIVATED: 'active', FAILING: 'failing', CLOSED: 'closed' } },
    /** SESSION_SETUP with the binding flag seen (or reported by the owner). */
    bound: { on: { ACTIVATED: 'active', FAILING: 'failing', CLOSED: 'closed' } },
    active: { on: { FAILING: 'failing', CLOSED: 'closed' } },
    /** Transport trouble (e.g. a break went unacknowledged); may recover or close. */
    failing: { on: { RECOVERED: 'active', CLOSED: 'closed' } },
    closed: { type: 'final' },
  },
});

type Table = Record<ChannelState, Partial<Record<ChannelLifecycleEvent['type'], ChannelState>>>;

function deriveTable(): Table {
  const table = {} as Table;
  for (const [state, node] of Object.entries(channelMachine.config.states ?? {})) {
    const on = (node as { on?: Record<string, string> }).on ?? {};
    table[state as ChannelState] = Object.fromEntries(Object.entries(on)) as Table[ChannelState];
  }
  return table;
}

/** state → event → next state, read from channelMachine's definition (verified against xstate's transition()). */
export const CHANNEL_TRANSITIONS: Readonly<Table> = deriveTable();

/** The next state, or undefined when the machine does not accept `event` in `state`. */
export function nextChannelState(
  state: ChannelState,
  event: ChannelLifecycleEvent['type'],
): ChannelState | undefined {
  return CHANNEL_TRANSITIONS[state][event];
}
