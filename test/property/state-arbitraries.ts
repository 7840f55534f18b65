/**
 * Valid mccd state files and client records (coordinator/state-file.ts), for the restart and
 * state-check property tests.
 */
import fc from 'fast-check';
import type { StateFile } from '../../coordinator/state-file.js';
import type { ChannelRecord, TeardownReason } from '../../statecharts/types.js';
import { arbIpv4, arbIpv6 } from './arbitraries.js';

const arbTuple = fc.record({
  localAddress: fc.oneof(arbIpv4, arbIpv6, fc.constantFrom('fe80::1%eth0')),
  localPort: fc.nat({ max: 65535 }),
  remoteAddress: fc.oneof(arbIpv4, fc.constantFrom('::1', 'fd00::2')),
  remotePort: fc.nat({ max: 65535 }),
});

export const arbChannels = fc
  .uniqueArray(fc.integer({ min: 1, max: 1000 }), { maxLength: 32 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record(
          {
            id: fc.constant(id),
            state: fc.constantFrom('accepted', 'handedOff', 'bound', 'active', 'failing', 'closed' as const),
            tuple: arbTuple,
            interfaceName: fc.string({ minLength: 1, maxLength: 15 }),
            transport: fc.constantFrom('tcp', 'rdma' as const),
            onPublicIp: fc.boolean(),
            createdAt: fc.nat(),
          },
          { requiredKeys: ['id', 'state', 'tuple', 'transport', 'onPublicIp', 'createdAt'] },
        ),
      ),
    ),
  )
  .map((cs) => cs as ChannelRecord[]);

/** Every kind of teardown reason a state file can record. */
export const arbReason: fc.Arbitrary<TeardownReason> = fc.oneof(
  arbIpv4.map((ip) => ({ kind: 'release-ip' as const, ip })),
  fc.integer({ min: -1, max: 63 }).map((toNode) => ({ kind: 'dropped' as const, toNode })),
  fc.string({ maxLength: 64 }).map((owner) => ({ kind: 'owner-crashed' as const, owner })),
  fc.option(fc.string({ maxLength: 200 }), { nil: undefined }).map((by) => ({
    kind: 'admin' as const,
    ...(by === undefined ? {} : { by }),
  })),
  fc.constant({ kind: 'cluster-lost' as const }),
  fc.string({ maxLength: 200 }).map((why) => ({ kind: 'unmatched-after-restart' as const, why })),
);

export const arbClient = fc
  .record({
    clientGuid: fc.uuid(),
    state: fc.constantFrom('negotiating', 'active', 'tearingDown' as const),
    owner: fc.option(
      fc.record(
        {
          kind: fc.constantFrom('worker', 'smbd'),
          id: fc.string({ minLength: 1, maxLength: 64 }),
          pid: fc.integer({ min: 1, max: 4_000_000 }),
        },
        { requiredKeys: ['kind', 'id'] },
      ),
      { nil: undefined },
    ),
    dialect: fc.option(fc.constantFrom(0x202, 0x210, 0x300, 0x302, 0x311), { nil: undefined }),
    channels: arbChannels,
    createdAt: fc.nat(),
    extraIds: fc.nat({ max: 10 }),
    lost: fc.array(fc.record({ ip: arbIpv4, at: fc.nat() }), { maxLength: 8 }),
    reason: arbReason,
  })
  .map(({ extraIds, owner, dialect, state, lost, reason, ...c }) => ({
    ...c,
    state,
    ...(lost.length > 0 && state !== 'tearingDown' ? { lostPublicIps: lost } : {}),
    ...(owner ? { owner } : {}),
    ...(dialect !== undefined ? { dialect } : {}),
    nextChannelId: Math.max(0, ...c.channels.map((ch) => ch.id)) + 1 + extraIds,
    ...(state === 'tearingDown' ? { teardown: reason } : {}),
  }));

export const arbState: fc.Arbitrary<StateFile> = fc.record({
  version: fc.constant(1 as const),
  writtenAt: fc.nat(),
  pid: fc.integer({ min: 1, max: 4_000_000 }),
  pnn: fc.nat({ max: 63 }),
  backend: fc.constantFrom('worker', 'smbd' as const),
  clients: fc.uniqueArray(arbClient, { maxLength: 8, selector: (c) => c.clientGuid.toLowerCase() }),
});
