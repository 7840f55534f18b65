/**
 * A client as a plain record that outlives the process (mccd's state file) and the client machine's
 * snapshot rebuilt from one. The record is this project's own format, not XState's: it is parsed and
 * checked when read back (coordinator/state-file.ts), and XState's snapshot layout stays in here.
 */
import type { Snapshot } from 'xstate';
import type { ClientStateValue } from './client-machine.js';
import type { ChannelRecord, ClientContext, Owner, TeardownReason } from './types.js';

export interface ClientRecord {
  clientGuid: string;
  /** A client mid-teardown is recorded with the channels its teardown closes, to be closed again. */
  state: Exclude<ClientStateValue, 'gone'>;
  owner?: Owner;
  dialect?: number;
  channels: ChannelRecord[];
  nextChannelId: number;
  createdAt: number;
  teardown?: TeardownReason;
  /** Public IPs it recently lost a channel on: a RELEASE_IP of one still ends the client after a restart. */
  lostPublicIps?: { ip: string; at: number }[];
}

export function clientRecord(state: ClientStateValue, context: ClientContext): ClientRecord | undefined {
  if (state === 'gone') return undefined;
  const tearing = state === 'tearingDown';
  return {
    clientGuid: context.clientGuid,
    state,
    ...(context.owner ? { owner: context.owner } : {}),
    ...(context.dialect !== undefined ? { dialect: context.dialect } : {}),
    channels: tearing ? context.closedByTeardown : context.channels,
    nextChannelId: context.nextChannelId,
    createdAt: context.createdAt,
    ...(tearing ? { teardown: context.teardownReason ?? { kind: 'admin' } } : {}),
    ...(!tearing && context.lostPublicIps?.length ? { lostPublicIps: context.lostPublicIps } : {}),
  };
}

/**
 * The persisted snapshot of a connected client (a client mid-teardown comes back connected with the
 * channels its teardown must close, and is then sent RESUME_TEARDOWN).
 */
export function snapshotOfRecord(r: ClientRecord, teardownTimeoutMs: number): Snapshot<unknown> {
  const context: ClientContext & { teardownTimeoutMs: number } = {
    clientGuid: r.clientGuid,
    owner: r.owner,
    dialect: r.dialect,
    channels: r.channels,
    nextChannelId: r.nextChannelId,
    teardownReason: undefined,
    refusedChannels: 0,
    closedByTeardown: [],
    createdAt: r.createdAt,
    teardownStartedAt: undefined,
    ...(r.lostPublicIps ? { lostPublicIps: r.lostPublicIps } : {}),
    teardownTimeoutMs,
  };
  const sub = r.state === 'active' ? 'active' : 'negotiating';
  return {
    status: 'active',
    value: { connected: sub },
    historyValue: {},
    context,
    children: {},
  } as unknown as Snapshot<unknown>;
}
