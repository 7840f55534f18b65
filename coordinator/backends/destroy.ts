import { type DestroyResult, destroySockets, socketTupleLabel } from '../../native/index.js';
import type { ChannelRecord } from '../../statecharts/types.js';

/**
 * Kills channels by 4-tuple with SOCK_DESTROY, whoever holds them (smbd, a hung worker). Needs
 * CAP_NET_ADMIN; without it the result says so and the caller relies on the owner closing them.
 */
export function destroyChannels(channels: ChannelRecord[]): DestroyResult[] {
  if (channels.length === 0) return [];
  try {
    return destroySockets(channels.map((c) => c.tuple));
  } catch (error) {
    const errno = (error as { errno?: number }).errno ?? 1;
    return channels.map(() => ({ errno }));
  }
}

/** What SOCK_DESTROY did to a teardown's channels: counts for its log line, failures by tuple. */
export interface DestroyOutcome {
  killed: number;
  alreadyGone: number;
  /** The channels it could not kill (gone already is not a failure). */
  failed: { tuple: string; errno: number }[];
}

export function describeDestroys(channels: ChannelRecord[], results: DestroyResult[]): DestroyOutcome {
  const out: DestroyOutcome = { killed: 0, alreadyGone: 0, failed: [] };
  channels.forEach((c, i) => {
    const r = results[i];
    if (r === 'destroyed') out.killed++;
    else if (r === 'not-found') out.alreadyGone++;
    else if (r !== undefined) out.failed.push({ tuple: socketTupleLabel(c.tuple), errno: r.errno });
  });
  return out;
}
