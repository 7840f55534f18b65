import { describe, expect, it } from 'vitest';
import { causeOf, evaluateScenario } from '../../failover/assertions.js';
import type { Fault } from '../../failover/record.js';
import { ctdbFaults, ipMoves } from '../../failover/truth.js';
import { A, bound, moveOf101, ownersMoving101, record, releaseOf101, rules, tornDown } from './fixtures.js';

/**
 * Each check of the stricter harness shown failing on the broken build it is there for, as a crafted
 * timeline: a false RELEASE_IP from mccd, a slow teardown, a teardown credited to a later fault, a node
 * whose API is down, a missing fd count.
 */
const staysOnNode0 = ownersMoving101.map((s) => ({ ...s, owners: { ...s.owners, '10.0.0.101': 0 } }));
const staysOnNode1 = ownersMoving101.map((s) => ({ ...s, owners: { ...s.owners, '10.0.0.101': 1 } }));

describe('ground truth from `ctdb ip`', () => {
  it('finds each move with the snapshots around it', () => {
    expect(ipMoves(ownersMoving101)).toEqual([
      { ip: '10.0.0.101', from: 0, to: 1, firstHeldAt: 900, lastHeldAt: 1100, goneAt: 1400 },
    ]);
    expect(ctdbFaults({ ipOwners: ownersMoving101, startAt: 1000, endAt: 5000 })).toMatchObject([
      { node: 0, at: 1400, causeAt: 1100, scope: { kind: 'ip', ip: '10.0.0.101' }, source: 'ctdb' },
    ]);
    expect(ipMoves(staysOnNode0)).toEqual([]);
  });
});

describe('mccd is corroboration, not the judge', () => {
  it('a false RELEASE_IP from mccd does not justify the teardown it caused, and is itself a violation', () => {
    // mccd says node 0 released 10.0.0.101; the cluster shows it never left; the harness moved nothing.
    const r = record({ ipOwners: staysOnNode0, faults: [releaseOf101] });
    expect(rules(r).sort()).toEqual(['uncorroborated-event', 'untouched-client-lost-channels']);
  });

  it('an IP the cluster moved without mccd reporting RELEASE_IP is a violation', () => {
    expect(rules(record({ faults: [moveOf101] }))).toEqual(['missed-event']);
  });

  it('a ctdbd-lost event needs a harness action on that node before it', () => {
    const lost: Fault = {
      ...releaseOf101,
      scope: { kind: 'node' },
      label: 'ctdbd lost on node 0',
      at: 1300,
    };
    expect(rules(record({ faults: [moveOf101, releaseOf101, lost] }))).toEqual(['uncorroborated-event']);
    const kill: Fault = { ...moveOf101, scope: { kind: 'node' }, label: 'kill -9 of ctdbd on node 0' };
    expect(rules(record({ faults: [kill, releaseOf101, lost] }))).toEqual([]);
  });

  it("an isolated node's RELEASE_IP, which the leader's `ctdb ip` cannot see, is corroborated by the partition only", () => {
    // Node 0 cut off: it hands back what it took alone; the leader's map never showed it there.
    const partition: Fault = {
      ...moveOf101,
      at: 1000,
      causeAt: 1000,
      scope: { kind: 'node' },
      label: 'partition of node 0',
    };
    const released = { ...releaseOf101, at: 1300, causeAt: 1300 };
    expect(rules(record({ ipOwners: staysOnNode1, faults: [partition, released] }))).toContain(
      'uncorroborated-event',
    );
    const isolating = { ...partition, isolates: true };
    expect(rules(record({ ipOwners: staysOnNode1, faults: [isolating, released] }))).not.toContain(
      'uncorroborated-event',
    );
  });

  it('the cluster alone justifies a teardown when mccd is silent, but the silence is still named', () => {
    const r = record({ faults: [] });
    const result = evaluateScenario(r);
    expect(result.violations.map((v) => v.rule)).toEqual(['missed-event']);
    // Timed from the last snapshot that still showed the IP on node 0.
    expect(result.latencies.teardownMs).toEqual([1260 - 1100]);
  });
});

describe('which fault a teardown answers', () => {
  // rolling-restart: mccd restarted on node 0 at 15 s; a client bound there 1 s later (within the slack)
  // and was torn down at 47.7 s, 7 ms after ctdb moved its IP away. Its teardown took 7 ms, not 33 s.
  const restart: Fault = {
    ...moveOf101,
    at: 15_000,
    causeAt: 15_000,
    scope: { kind: 'node' },
    label: 'mccd restart on node 0',
  };
  const moved: Fault = {
    ...moveOf101,
    at: 47_700,
    causeAt: 47_500,
    source: 'ctdb',
    label: 'ctdb ip: 10.0.0.101 left node 0',
  };
  const told: Fault = { ...releaseOf101, at: 47_690, causeAt: 47_690 };

  it('is the latest fault before the first close, not the first in the stint', () => {
    expect(causeOf([restart, moved], 47_707)).toBe(moved);
  });

  it("among reports of that one event, the harness's own action, then ctdb, then mccd", () => {
    const action: Fault = { ...restart, at: 47_000, causeAt: 47_000, label: 'moveip' };
    expect(causeOf([restart, told, moved, action], 47_707)).toBe(action);
    expect(causeOf([restart, told, moved], 47_707)).toBe(moved);
  });

  it('a fault after the first close is no cause when one came before', () => {
    expect(causeOf([restart, moved], 20_000)).toBe(restart);
  });
});

describe('budgets and ordering', () => {
  it('a teardown 10 s after the moveip is over the budget stated in the scenario', () => {
    const r = record({
      endAt: 20_000,
      lines: [
        bound('a', 0, ['10.0.0.101', '10.0.0.1']),
        bound('b', 0, ['10.0.0.102', '10.0.0.2']),
        tornDown('a', 11_100),
        bound('a', 11_300, ['10.0.0.101', '10.0.0.2']),
      ],
    });
    const result = evaluateScenario(r);
    expect(result.violations.map((v) => v.rule)).toEqual(['over-budget']);
    expect(result.violations[0]!.message).toMatch(/teardown took 10000 ms .* budget 2000 ms \(RELEASE_IP/);
  });

  it('a reconnect slower than its budget is a violation', () => {
    const lines = [...record().lines];
    lines[3] = bound('a', 7000, ['10.0.0.101', '10.0.0.2']);
    expect(rules(record({ lines, endAt: 8000 }))).toEqual(['over-budget']);
  });

  it('a teardown that ended before the fault is not credited to it', () => {
    // a's channels closed at 1050, before the moveip at 1100 (and before any snapshot showed a move).
    const lines = [...record().lines];
    lines[2] = tornDown('a', 1050);
    expect(rules(record({ lines }))).toContain('untouched-client-lost-channels');
  });
});

describe('missing observations are failures', () => {
  it('a node whose API is down through the scenario is unobserved, not clean', () => {
    const samples = record().samples.map((s) => ({
      ...s,
      channels: [s.channels[0]!, null],
      answered: [true, false],
    }));
    const result = evaluateScenario(record({ samples }));
    expect(result.violations.map((v) => v.rule)).toEqual(['unobserved']);
    expect(result.violations[0]!.message).toMatch(/node 1 answered 0 of 4 polls/);
  });

  it('polls while the harness itself had mccd down are excused, and only those', () => {
    const last = record().samples.at(-1)!;
    const missed = (at: number) => ({
      ...last,
      at,
      channels: [last.channels[0]!, null],
      answered: [true, false],
    });
    const answered = (at: number) => ({ ...last, at });
    // Node 1 misses 5 polls in a row, then answers 3: too little of it was seen (3 of 8)...
    const samples = [...[1300, 1600, 2000, 2400, 3000].map(missed), ...[4500, 5000, 5500].map(answered)];
    const world = { samples, endAt: 6000 };
    expect(rules(record(world))).toEqual(['unobserved']);
    // ...unless the harness itself had killed it for exactly that span: then 3 of 3 were answered.
    const killed = [{ node: 1, from: 1250, to: 3100 }];
    expect(rules(record({ ...world, mccdDown: killed }))).toEqual([]);
    // A down window on another node, or one that ended before the outage did, excuses nothing.
    expect(rules(record({ ...world, mccdDown: [{ node: 0, from: 1250, to: 3100 }] }))).toEqual([
      'unobserved',
    ]);
    expect(rules(record({ ...world, mccdDown: [{ node: 1, from: 1250, to: 1400 }] }))).toEqual([
      'unobserved',
    ]);
  });

  it('a node that does not answer at the end is not settled, and a missing fd count is a violation', () => {
    expect(rules(record({ unansweredAtEnd: [1] }))).toEqual(['not-settled']);
    expect(
      rules(record({ fds: [{ node: 0, before: 30, after: undefined, samePid: false, grew: '' }] })),
    ).toEqual(['fd-unknown']);
  });

  it('the crafted world itself is clean, so each violation above is the broken part alone', () => {
    expect(evaluateScenario(record()).violations).toEqual([]);
    expect(record().clients).toContain(A);
  });
});
