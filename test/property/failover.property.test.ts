import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { echoRequestPull, echoResponsePull, WireError } from '../../wire/index.js';
import { parseProfile, parseScenario, ScenarioError } from '../failover/scenario.js';
import { RUNS } from './arbitraries.js';

const arbStep = fc.record(
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
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 5 }), fc.string({ maxLength: 20 }), (steps, name) => {
        const r = parseScenario(stringify({ name, description: 'd', steps }));
        if (r.ok) expect(r.value.steps.length).toBe(steps.length);
        else expect(r.error.message).toMatch(/^scenario: [\w.()]+/);
      }),
      { numRuns: Math.min(RUNS, 2000) },
    );
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
