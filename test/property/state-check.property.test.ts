import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClientRecord } from '../../coordinator/state-check.js';
import { clientSchema } from '../../coordinator/state-file.js';
import { RUNS } from './arbitraries.js';
import { arbChannels, arbClient } from './state-arbitraries.js';

/**
 * The hand-written client record check (coordinator/state-check.ts) against its specification, the zod
 * schema: the same verdict on every record, and for an accepted one the record itself is what zod
 * would have returned. Records are mutated at every depth with values on and beside each bound, wrong
 * types, missing and extra keys (`__proto__` included, as an own key the way JSON.parse makes it).
 */

const long = (n: number) => 'x'.repeat(n);

/**
 * Values on, just inside and just outside every bound the schema has, and every type JSON has. Each a
 * fresh copy: mutations change objects in place, and a shared constant would carry one run's into the next.
 */
const edge = fc
  .constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1,
    1.5,
    2,
    0xffff,
    0x10000,
    65535,
    65536,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x100000000,
    0x100000001,
    8.64e15,
    8.64e15 + 2,
    2 ** 53,
    -(2 ** 53),
    1e300,
    '',
    'a',
    'ab',
    long(16),
    long(17),
    long(64),
    long(65),
    long(200),
    long(201),
    '10.0.0.1',
    '10.0.0.1 ',
    'fe80::1%eth0',
    '1',
    '00000000-0000-4000-8000-00000000000A',
    '00000000-0000-4000-8000-00000000000',
    '00000000-0000-4000-8000-00000000000g',
    'negotiating',
    'active',
    'tearingDown',
    'gone',
    'accepted',
    'closed',
    'tcp',
    'rdma',
    'worker',
    'release-ip',
    'dropped',
    'owner-crashed',
    'admin',
    'cluster-lost',
    'unmatched-after-restart',
    'then',
    [],
    [1],
    {},
    { kind: 'admin' },
    { kind: 'dropped', toNode: 1.5 },
    { kind: 'release-ip', ip: long(65) },
    { ip: '10.0.0.1', at: 1 },
    { kind: 'worker', id: 'w', pid: 0 },
  )
  .map((v) => structuredClone(v));

const arbKey = fc.constantFrom('__proto__', 'constructor', 'toString', 'extra', 'kind', 'id', 'pid', 'by');

type Json = Record<string, unknown> | unknown[];

/** Every object or array inside `v`, `v` first. */
function containers(v: unknown, out: Json[] = []): Json[] {
  if (typeof v !== 'object' || v === null) return out;
  out.push(v as Json);
  for (const x of Object.values(v)) containers(x, out);
  return out;
}

type Mutation =
  | { op: 'set'; at: number; key: number; value: unknown }
  | { op: 'delete'; at: number; key: number }
  | { op: 'add'; at: number; name: string; value: unknown }
  | { op: 'channels'; count: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), key: fc.nat(), value: edge }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), key: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), at: fc.nat(), name: arbKey, value: edge }),
);

/** Around the channel limit: costly (a thousand channels through zod), so a test of its own. */
const arbAtLimit = fc.record({
  op: fc.constant('channels' as const),
  count: fc.constantFrom(1023, 1024, 1025),
});

function mutate(record: unknown, m: Mutation): void {
  const root = record as Record<string, unknown>;
  if (m.op === 'channels') {
    // The channel limit: that many valid channels, ids 1…count, nextChannelId past them.
    const template = (Array.isArray(root.channels) ? root.channels[0] : undefined) ?? {
      id: 1,
      state: 'active',
      tuple: { localAddress: '10.0.0.1', localPort: 445, remoteAddress: '10.0.0.2', remotePort: 1 },
      transport: 'tcp',
      onPublicIp: false,
      createdAt: 0,
    };
    root.channels = Array.from({ length: m.count }, (_, i) => ({ ...(template as object), id: i + 1 }));
    root.nextChannelId = m.count + 1;
    return;
  }
  const all = containers(record);
  const target = all[m.at % all.length]!;
  if (m.op === 'add') {
    // An own property even for __proto__, as JSON.parse makes it (assignment would set the prototype).
    if (!Array.isArray(target))
      Object.defineProperty(target, m.name, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else target.push(m.value);
    return;
  }
  const keys = Object.keys(target);
  if (keys.length === 0) return;
  const key = keys[m.key % keys.length]!;
  if (m.op === 'delete') {
    if (Array.isArray(target)) target.splice(Number(key), 1);
    else delete target[key];
  } else (target as Record<string, unknown>)[key] = m.value;
}

function agrees(raw: unknown): void {
  // Through JSON, as the state file reaches the check: what JSON.parse makes, nothing else.
  const json = JSON.parse(JSON.stringify(raw)) as unknown;
  const zod = clientSchema.safeParse(json);
  expect(isClientRecord(json)).toBe(zod.success);
  if (zod.success) expect(json).toEqual(zod.data);
}

describe('client record check (state-check.ts) against the zod schema', () => {
  it('accepts every valid record as zod does, and returns the record zod would', () => {
    fc.assert(
      fc.property(arbClient, (c) => {
        expect(isClientRecord(JSON.parse(JSON.stringify(c)))).toBe(true);
        agrees(c);
      }),
      { numRuns: RUNS / 10 },
    );
  });

  it('gives zod’s verdict on records mutated at any depth with edge values, missing and extra keys', () => {
    fc.assert(
      fc.property(arbClient, fc.array(arbMutation, { minLength: 1, maxLength: 3 }), (c, ms) => {
        const record = JSON.parse(JSON.stringify(c)) as unknown;
        for (const m of ms) mutate(record, m);
        agrees(record);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives zod’s verdict around the channel limit, alone and with other mutations', () => {
    fc.assert(
      fc.property(arbClient, arbAtLimit, fc.array(arbMutation, { maxLength: 2 }), (c, limit, ms) => {
        const record = JSON.parse(JSON.stringify(c)) as unknown;
        mutate(record, limit);
        for (const m of ms) mutate(record, m);
        agrees(record);
      }),
      { numRuns: 60 },
    );
  });

  it('gives zod’s verdict on channel lists with repeated ids and ids past nextChannelId', () => {
    fc.assert(
      fc.property(arbClient, arbChannels, fc.integer({ min: 0, max: 1002 }), (c, extra, next) => {
        agrees({ ...c, channels: [...c.channels, ...extra], nextChannelId: next });
      }),
      { numRuns: RUNS / 10 },
    );
  });

  it('gives zod’s verdict on teardown reasons and owners near their bounds', () => {
    const near = fc.oneof(
      edge,
      fc.integer({ min: 0, max: 3 }).map((d) => long([16, 64, 200][d % 3]! + (d >> 1))),
    );
    const fields = (keys: string[]) =>
      fc.record(Object.fromEntries(keys.map((k) => [k, near])), { requiredKeys: [] });
    const reason = fc
      .tuple(
        fc.constantFrom(
          'release-ip',
          'dropped',
          'owner-crashed',
          'admin',
          'cluster-lost',
          'unmatched-after-restart',
          'x',
        ),
        fields(['ip', 'toNode', 'owner', 'by', 'why']),
      )
      .map(([kind, rest]) => ({ kind, ...rest }));
    const owner = fields(['kind', 'id', 'pid']);
    fc.assert(
      fc.property(arbClient, reason, fc.option(owner, { nil: undefined }), (c, teardown, o) => {
        agrees({ ...c, state: 'tearingDown', teardown, ...(o ? { owner: o } : {}) });
      }),
      { numRuns: RUNS / 5 },
    );
  });

  it('gives zod’s verdict on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => agrees(v)),
      { numRuns: RUNS / 10 },
    );
  });
});
