import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clusterMessageSchema,
  decodeClusterMessage,
  encodeClusterMessage,
  fastClusterMessage,
} from '../../coordinator/cluster-messages.js';
import { LimitsParseError, parseOpenFileLimit } from '../../coordinator/pending-peeks.js';
import {
  decodeMccdToWorker,
  decodeWorkerToMccd,
  encodeWorkerMessage,
  MAX_REPORTS,
  MAX_WORKER_MESSAGE,
  mccdToWorkerSchema,
  type WorkerToMccd,
  workerToMccdSchema,
} from '../../coordinator/worker/protocol.js';
import { fastMccdToWorker, fastWorkerToMccd } from '../../coordinator/worker/protocol-fast.js';
import { WireError } from '../../wire/errors.js';
import { guidFromBytes } from '../../wire/guid.js';
import { RUNS } from './arbitraries.js';

function typedOrValid(r: { ok: boolean; error?: unknown }): void {
  if (!r.ok) expect(r.error).toBeInstanceOf(WireError);
}

const arbWorkerMessage: fc.Arbitrary<WorkerToMccd> = fc.oneof(
  fc.record({
    t: fc.constant('register' as const),
    version: fc.constant(1 as const),
    workerId: fc.string({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({
    t: fc.constant('negotiated' as const),
    clientGuid: fc.uuid(),
    channelId: fc.integer({ min: 1, max: 0xffffffff }),
    dialect: fc.integer({ min: 0, max: 0xffff }),
  }),
  fc.record({
    t: fc.constant('channel-closed' as const),
    clientGuid: fc.uuid(),
    channelId: fc.integer({ min: 1, max: 0xffffffff }),
  }),
  fc.record({ t: fc.constant('teardown-done' as const), clientGuid: fc.uuid(), seq: fc.nat() }),
  fc.record({ t: fc.constant('interfaces-request' as const), reqId: fc.nat() }),
  fc.record({
    t: fc.constant('register' as const),
    version: fc.constant(1 as const),
    workerId: fc.string({ minLength: 1, maxLength: 64 }),
    resuming: fc.boolean(),
  }),
  fc.record({
    t: fc.constant('held' as const),
    clientGuid: fc.uuid(),
    channels: fc.array(
      fc.record({
        channelId: fc.integer({ min: 1, max: 0xffffffff }),
        local: fc.record({
          address: fc.string({ minLength: 1, maxLength: 64 }),
          port: fc.nat({ max: 65535 }),
        }),
        remote: fc.record({
          address: fc.string({ minLength: 1, maxLength: 64 }),
          port: fc.nat({ max: 65535 }),
        }),
      }),
      { minLength: 1, maxLength: 32 },
    ),
  }),
  fc.record({ t: fc.constant('held-done' as const), clients: fc.nat({ max: 10_000_000 }) }),
  fc.record({
    t: fc.constant('register' as const),
    version: fc.constant(2 as const),
    workerId: fc.string({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({
    t: fc.constant('reports' as const),
    reports: fc.array(
      fc.oneof(
        fc.record({
          t: fc.constant('negotiated' as const),
          clientGuid: fc.uuid(),
          channelId: fc.integer({ min: 1, max: 0xffffffff }),
          dialect: fc.integer({ min: 0, max: 0xffff }),
        }),
        fc.record({
          t: fc.constant('bound' as const),
          clientGuid: fc.uuid(),
          channelId: fc.integer({ min: 1, max: 0xffffffff }),
        }),
        fc.record({
          t: fc.constant('channel-closed' as const),
          clientGuid: fc.uuid(),
          channelId: fc.integer({ min: 1, max: 0xffffffff }),
        }),
      ),
      { minLength: 1, maxLength: MAX_REPORTS },
    ),
  }),
);

const NOT_JSON = Symbol('not JSON');

/** `value`'s JSON with some bytes overwritten, parsed again; NOT_JSON when that no longer parses. */
function mutatedJson(value: unknown, writes: [number, number][]): unknown {
  const bytes = Buffer.from(JSON.stringify(value));
  for (const [at, v] of writes) if (bytes.length) bytes[at % bytes.length] = v;
  try {
    return JSON.parse(bytes.toString());
  } catch {
    return NOT_JSON;
  }
}

describe('worker protocol parsers', () => {
  it('decode ∘ encode is the identity on valid messages', () => {
    fc.assert(
      fc.property(arbWorkerMessage, (m) => {
        const r = decodeWorkerToMccd(encodeWorkerMessage(m));
        expect(r.ok && r.value).toEqual(m);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes and random JSON give a typed error or a valid parse, both directions', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((j) => Buffer.from(j)),
        ),
        (bytes) => {
          typedOrValid(decodeWorkerToMccd(bytes));
          typedOrValid(decodeMccdToWorker(bytes));
          typedOrValid(decodeClusterMessage(bytes));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated valid messages give a typed error or a valid parse', () => {
    fc.assert(
      fc.property(
        arbWorkerMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (m, writes) => {
          const bytes = Buffer.from(encodeWorkerMessage(m));
          for (const [at, v] of writes) if (bytes.length) bytes[at % bytes.length] = v;
          typedOrValid(decodeWorkerToMccd(bytes));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a reports batch is refused whole beyond MAX_REPORTS, empty, or with a message that is not a report', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant([] as unknown[]),
          fc.constant(
            Array.from({ length: MAX_REPORTS + 1 }, (_, i) => ({
              t: 'bound',
              clientGuid: '00000000-0000-0000-0000-000000000001',
              channelId: i + 1,
            })),
          ),
          fc.tuple(fc.uuid(), fc.nat()).map(([clientGuid, seq]) => [{ t: 'teardown-done', clientGuid, seq }]),
          fc.constant([{ t: 'register', version: 2, workerId: 'w' }]),
        ),
        (reports) => {
          const r = decodeWorkerToMccd(Buffer.from(JSON.stringify({ t: 'reports', reports })));
          expect(r.ok).toBe(false);
          typedOrValid(r);
        },
      ),
      { numRuns: Math.min(RUNS, 200) },
    );
  });

  it('the hand-written checks accept only what the schema accepts, unchanged, and every valid hot message', () => {
    const endpoint = fc.record({
      address: fc.string({ minLength: 1, maxLength: 64 }),
      port: fc.nat({ max: 65535 }),
    });
    const arbChannel = fc.record({
      t: fc.constant('channel' as const),
      clientGuid: fc.uuid(),
      channelId: fc.integer({ min: 1, max: 0xffffffff }),
      connectTime: fc.double({ noNaN: true, noDefaultInfinity: true }),
      local: endpoint,
      remote: endpoint,
      negotiate: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
    });
    const json = (v: unknown) => JSON.parse(JSON.stringify(v));
    const agree = (j: unknown) => {
      const w = fastWorkerToMccd(j, MAX_REPORTS);
      if (w !== undefined) expect(workerToMccdSchema.parse(j)).toEqual(w);
      const m = fastMccdToWorker(j, MAX_WORKER_MESSAGE);
      if (m !== undefined) expect(mccdToWorkerSchema.parse(j)).toEqual(m);
    };
    fc.assert(
      fc.property(
        fc.oneof(arbWorkerMessage, arbChannel),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (m, writes) => {
          const j = json(m);
          agree(j);
          if (['negotiated', 'bound', 'channel-closed', 'reports'].includes(m.t))
            expect(fastWorkerToMccd(j, MAX_REPORTS)).toEqual(j);
          if (m.t === 'channel') expect(fastMccdToWorker(j, MAX_WORKER_MESSAGE)).toEqual(j);
          // Byte mutations that still parse as JSON: whatever the fast path takes, the schema takes.
          const mutated = mutatedJson(m, writes);
          if (mutated !== NOT_JSON) agree(mutated);
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.json(), (text) => agree(JSON.parse(text))),
      { numRuns: RUNS },
    );
  });

  it('cluster claims round-trip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }).map(guidFromBytes),
        fc.nat({ max: 1000 }),
        (clientGuid, pnn) => {
          const m = { type: 'claim' as const, clientGuid, pnn, at: 1 };
          const r = decodeClusterMessage(encodeClusterMessage(m));
          expect(r.ok && r.value).toEqual(m);
          expect(fastClusterMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the claim fast path takes only what the schema takes, unchanged', () => {
    const agree = (j: unknown) => {
      const f = fastClusterMessage(j);
      if (f !== undefined) expect(clusterMessageSchema.parse(j)).toEqual(f);
    };
    const arbClaim = fc.record({
      type: fc.constant('claim'),
      clientGuid: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })),
      pnn: fc.oneof(fc.nat(), fc.integer(), fc.double()),
      at: fc.oneof(fc.double(), fc.string()),
    });
    fc.assert(
      fc.property(
        arbClaim,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (m, writes) => {
          agree(JSON.parse(JSON.stringify(m)));
          const mutated = mutatedJson(m, writes);
          if (mutated !== NOT_JSON) agree(mutated);
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.json(), (text) => agree(JSON.parse(text))),
      { numRuns: RUNS },
    );
  });
});

describe('open-file limit parser', () => {
  it('never throws: a number, unlimited, or a typed error; finds the soft limit wherever the line is', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const r = parseOpenFileLimit(text);
        if (!r.ok) expect(r.error).toBeInstanceOf(LimitsParseError);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.string().filter((s) => !s.includes('\n')),
          { maxLength: 5 },
        ),
        fc.nat(),
        (lines, soft) => {
          const text = [...lines, `Max open files            ${soft}   ${soft + 1}   files     `].join('\n');
          const r = parseOpenFileLimit(text);
          expect(r).toEqual({ ok: true, limit: soft });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
