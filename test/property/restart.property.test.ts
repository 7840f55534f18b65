import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseListenFds } from '../../coordinator/listen-fds.js';
import { decodeStateFile, encodeStateFile } from '../../coordinator/state-file.js';
import { parseTeardownJournal } from '../../coordinator/teardown-journal.js';
import { ClientRegistry } from '../../statecharts/registry.js';
import { WireError } from '../../wire/errors.js';
import { RUNS } from './arbitraries.js';
import { arbState } from './state-arbitraries.js';

const MAX = 64 << 20;

function typedOrValid(r: { ok: boolean; error?: unknown }): void {
  if (!r.ok) expect(r.error).toBeInstanceOf(WireError);
}

describe('state file', () => {
  it('decode ∘ encode is the identity on valid states', () => {
    fc.assert(
      fc.property(arbState, (s) => {
        const r = decodeStateFile(encodeStateFile(s), MAX);
        expect(r.ok && r.value).toEqual({ state: s, rejected: [] });
      }),
      { numRuns: RUNS / 10 },
    );
  });

  it('random bytes and random JSON give a typed error or a valid parse', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((j) => Buffer.from(j)),
        ),
        (b) => typedOrValid(decodeStateFile(b, MAX)),
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated and truncated states give a typed error or a valid parse (a torn write never throws)', () => {
    fc.assert(
      fc.property(
        arbState,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        (s, writes, cut) => {
          const bytes = Buffer.from(encodeStateFile(s));
          for (const [at, v] of writes) bytes[at % bytes.length] = v;
          typedOrValid(decodeStateFile(bytes, MAX));
          typedOrValid(decodeStateFile(bytes.subarray(0, cut % bytes.length), MAX));
        },
      ),
      { numRuns: RUNS / 10 },
    );
  });

  it('a bad client record costs that client only', () => {
    fc.assert(
      fc.property(arbState, fc.nat(), (s, at) => {
        fc.pre(s.clients.length > 0);
        const broken = {
          ...s,
          clients: s.clients.map((c, i) => (i === at % s.clients.length ? { ...c, nextChannelId: -1 } : c)),
        };
        const r = decodeStateFile(encodeStateFile(broken), MAX);
        expect(r.ok && r.value.state.clients.length).toBe(s.clients.length - 1);
        expect(r.ok && r.value.rejected).toHaveLength(1);
      }),
      { numRuns: RUNS / 20 },
    );
  });

  it('a state over the bound is refused as OVERSIZED before it is parsed', () => {
    fc.assert(
      fc.property(arbState, (s) => {
        const bytes = encodeStateFile(s);
        const r = decodeStateFile(bytes, bytes.length - 1);
        expect(!r.ok && r.error.code).toBe('OVERSIZED');
      }),
      { numRuns: 200 },
    );
  });

  it('records → restore → records is the identity for connected clients', () => {
    fc.assert(
      fc.property(arbState, (s) => {
        const connected = s.clients.filter((c) => c.state !== 'tearingDown');
        const reg = new ClientRegistry({ teardownTimeoutMs: 1000 });
        reg.restoreRecords(connected);
        const back = reg.records().sort((a, b) => a.clientGuid.localeCompare(b.clientGuid));
        expect(back).toEqual([...connected].sort((a, b) => a.clientGuid.localeCompare(b.clientGuid)));
        reg.stopAll();
      }),
      { numRuns: RUNS / 20 },
    );
  });
});

describe('LISTEN_FDS', () => {
  it('any environment gives a typed result, never an exception; fds count from 3', () => {
    const value = fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.nat({ max: 100 }).map(String)), {
      nil: undefined,
    });
    fc.assert(
      fc.property(value, value, value, fc.integer({ min: 1, max: 100 }), (pid, fds, names, me) => {
        const r = parseListenFds({ LISTEN_PID: pid, LISTEN_FDS: fds, LISTEN_FDNAMES: names }, me);
        if (!r.ok) expect(['BAD_LISTEN_FDS', 'BAD_LISTEN_PID', 'BAD_FDNAMES']).toContain(r.error.code);
        else for (const [i, f] of r.fds.entries()) expect(f.fd).toBe(3 + i);
        if (r.ok && r.fds.length > 0) expect(Number(pid)).toBe(me);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('teardown journal', () => {
  it('any text gives entries and typed errors, never an exception; valid lines survive a torn tail', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ clientGuid: fc.uuid(), toNode: fc.nat({ max: 63 }), at: fc.nat() }), {
          maxLength: 5,
        }),
        fc.string({ maxLength: 80 }),
        (valid, junk) => {
          const lines = valid.map((v) =>
            JSON.stringify({
              clientGuid: v.clientGuid,
              reason: { kind: 'dropped', toNode: v.toNode },
              at: v.at,
            }),
          );
          const r = parseTeardownJournal(`${lines.join('\n')}\n${junk.replace(/\n/g, ' ')}`);
          expect(r.entries.length).toBeGreaterThanOrEqual(valid.length);
          expect(r.entries.slice(0, valid.length).map((e) => e.clientGuid)).toEqual(
            valid.map((v) => v.clientGuid),
          );
          for (const e of r.bad) expect(e).toBeInstanceOf(WireError);
        },
      ),
      { numRuns: RUNS / 10 },
    );
  });
});
