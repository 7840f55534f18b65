import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { echoRequestPull, echoResponsePull, WireError } from '../../wire/index.js';
import { parseProfile, parseScenario, ScenarioError } from '../failover/scenario.js';
import { RUNS } from './arbitraries.js';

const arbNode = fc.oneof(fc.integer({ min: 0, max: 63 }), fc.constantFrom('leader', 'non-leader'));
const arbMs = (max: number) => fc.integer({ min: 0, max });
/** Steps the schema accepts, so that the "parses" branch below runs for a good share of the cases. */
const arbValidStep = fc.oneof(
  fc.record({
    action: fc.constant('moveip'),
    ip: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.ipV4()),
    to: fc.oneof(fc.integer({ min: 0, max: 63 }), fc.constant('next')),
  }),
  fc.record({
    action: fc.constant('moveip-burst'),
    count: fc.integer({ min: 1, max: 50 }),
    intervalMs: arbMs(10_000),
  }),
  fc.record({
    action: fc.constantFrom('disable', 'enable', 'stop', 'continue'),
    node: arbNode,
  }),
  fc.record({
    action: fc.constantFrom('kill-ctdbd', 'kill-mccd', 'kill-backend'),
    node: arbNode,
    restartAfterMs: arbMs(120_000),
  }),
  fc.record({ action: fc.constant('partition'), node: arbNode, durationMs: arbMs(300_000) }),
  fc.record({ action: fc.constant('rolling-restart') }),
  fc.record({ action: fc.constant('wait'), ms: arbMs(600_000) }),
);

const BUDGETS = {
  teardown: { ms: 2000, reason: 'RELEASE_IP arrives at once' },
  reconnect: { ms: 5000, reason: 'clients reconnect at once' },
};

const arbRandomStep = fc.record(
  {
    action: fc.constantFrom(
      'moveip',
      'moveip-burst',
      'disable',
      'kill-ctdbd',
      'kill-mccd',
      'partition',
      'wait',
      'nope',
    ),
    node: fc.oneof(fc.integer({ min: -2, max: 70 }), fc.constantFrom('leader', 'non-leader', 'x')),
    ip: fc.oneof(fc.integer({ min: -1, max: 300 }), fc.ipV4(), fc.string()),
    ms: fc.oneof(fc.integer({ min: -5, max: 700_000 }), fc.string()),
    count: fc.integer({ min: -1, max: 60 }),
  },
  { requiredKeys: ['action'] },
);

describe('failover scenario and profile parsers', () => {
  it('any text gives a scenario or a ScenarioError, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        for (const r of [parseScenario(text), parseProfile(text)])
          if (!r.ok) expect(r.error).toBeInstanceOf(ScenarioError);
      }),
      { numRuns: RUNS },
    );
  });

  it('scenario-shaped YAML with random steps parses or names what is wrong', () => {
    const runs = Math.min(RUNS, 2000);
    let parsed = 0;
    const arbName = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), fc.string({ maxLength: 20 }));
    // Mostly valid steps with a random one mixed in now and then: both branches run many times.
    const arbSteps = fc.array(fc.oneof({ arbitrary: arbValidStep, weight: 9 }, arbRandomStep), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(arbSteps, arbName, (steps, name) => {
        const r = parseScenario(stringify({ name, description: 'd', steps, budgets: BUDGETS }));
        if (r.ok) {
          parsed++;
          expect(r.value.name).toBe(name);
          expect(r.value.steps.map((st) => st.action)).toEqual(steps.map((st) => st.action));
        } else expect(r.error.message).toMatch(/^scenario: [\w.()]+/);
      }),
      { numRuns: runs },
    );
    // Neither branch may be starved: a generator drifting to all-invalid (or all-valid) fails here.
    expect(parsed).toBeGreaterThan(runs * 0.2);
    expect(parsed).toBeLessThan(runs * 0.9);
  });
});

describe('ECHO parsers', () => {
  it('random bytes give an ECHO or a WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        for (const r of [echoRequestPull(bytes), echoResponsePull(bytes)])
          if (!r.ok) expect(r.error).toBeInstanceOf(WireError);
      }),
      { numRuns: RUNS },
    );
  });
});
