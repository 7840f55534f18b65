import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describePools,
  describeStep,
  loadProfile,
  loadScenario,
  parseProfile,
  parseScenario,
  poolOf,
} from '../../failover/scenario.js';
import { projectRoot } from '../../helpers/reference.js';

const dir = join(projectRoot, 'test/failover');
const BUDGETS =
  'budgets:\n  teardown:\n    ms: 2000\n    reason: RELEASE_IP arrives at once\n  reconnect:\n    ms: 5000\n    reason: clients reconnect at once\n';

describe('failover scenario files', () => {
  it('every shipped scenario and profile parses, and every profile names shipped scenarios', () => {
    const scenarios = readdirSync(join(dir, 'scenarios')).map((f) => loadScenario(join(dir, 'scenarios', f)));
    const names = new Set(scenarios.map((s) => s.name));
    expect(names.size).toBe(scenarios.length);
    for (const s of scenarios) for (const step of s.steps) expect(describeStep(step)).not.toBe('');
    for (const f of readdirSync(join(dir, 'profiles'))) {
      const p = loadProfile(join(dir, 'profiles', f));
      for (const name of p.scenarios) expect(names, `${f} names ${name}`).toContain(name);
    }
    const short = loadProfile(join(dir, 'profiles/short.yaml'));
    expect(short.scenarios).toEqual(['moveip', 'kill-ctdbd-non-leader', 'restart-ctdbd']);
    // mccd restarts in the production replica: socket-activated mccd in front of clustered smbd.
    const restart = loadProfile(join(dir, 'profiles/restart.yaml'));
    expect([restart.cluster, restart.backend, restart.scenarios]).toEqual([
      'containers',
      'smbd',
      ['restart-mccd'],
    ]);
  });

  it('fills defaults: moveip to the next node, kill-ctdbd back after 2 s', () => {
    const r = parseScenario(
      `name: x\ndescription: d\nsteps:\n  - action: moveip\n    ip: 1\n  - action: kill-ctdbd\n    node: leader\n${BUDGETS}`,
    );
    expect(r.ok && r.value.steps).toEqual([
      { action: 'moveip', ip: 1, to: 'next' },
      { action: 'kill-ctdbd', node: 'leader', restartAfterMs: 2000 },
    ]);
  });

  it('fills defaults: restart-ctdbd back after 1 s, connect-check 8 connections; profiles on containers with a pool of 4', () => {
    const r = parseScenario(
      `name: x\ndescription: d\nsteps:\n  - action: restart-ctdbd\n    node: 1\n  - action: connect-check\n    node: non-leader\n${BUDGETS}`,
    );
    expect(r.ok && r.value.steps).toEqual([
      { action: 'restart-ctdbd', node: 1, restartAfterMs: 1000 },
      { action: 'connect-check', node: 'non-leader', count: 8 },
    ]);
    const p = parseProfile('name: p\ndescription: d\nscenarios: [moveip]\n');
    expect(p.ok && [p.value.cluster, p.value.smbdPool]).toEqual(['containers', 4]);
    const bad = parseProfile(
      'name: p\ndescription: d\ncluster: docker\nsmbdPool: -1\nscenarios: [moveip]\n',
      'p.yaml',
    );
    expect(!bad.ok && bad.error.message).toMatch(
      /cluster: .*'containers' \| 'netns'.*got "docker".*smbdPool/,
    );
  });

  it('a profile may give each node its own pool size; nodes past the list take the last one', () => {
    const p = parseProfile('name: p\ndescription: d\nnodes: 4\nsmbdPool: [4, 0]\nscenarios: [moveip]\n');
    if (!p.ok) throw p.error;
    expect([0, 1, 2, 3].map((pnn) => poolOf(p.value, pnn))).toEqual([4, 0, 0, 0]);
    expect(describePools(p.value)).toBe(
      'smbd pool of 4 on node 0, spawned per connection on node 1, spawned per connection on node 2, spawned per connection on node 3',
    );
    expect(describePools({ nodes: 3, smbdPool: 0 })).toBe('smbd spawned per connection');
    const bad = parseProfile('name: p\ndescription: d\nsmbdPool: []\nscenarios: [moveip]\n', 'p.yaml');
    expect(!bad.ok && bad.error.message).toMatch(/smbdPool/);
  });

  it('the cross-node share steps take two nodes; notify waits 3 s by default', () => {
    const r = parseScenario(
      `name: x\ndescription: d\nsteps:\n  - action: notify\n    watcher: 0\n    changer: leader\n  - action: share-mode\n    holder: 1\n    other: 2\n  - action: kill-smbd-holding-file\n    holder: 1\n    other: 0\n${BUDGETS}`,
    );
    expect(r.ok && r.value.steps).toEqual([
      { action: 'notify', watcher: 0, changer: 'leader', delayMs: 3000 },
      { action: 'share-mode', holder: 1, other: 2 },
      { action: 'kill-smbd-holding-file', holder: 1, other: 0 },
    ]);
    const bad = parseScenario(
      `name: x\ndescription: d\nsteps:\n  - action: share-mode\n    holder: 1\n${BUDGETS}`,
      'x.yaml',
    );
    expect(!bad.ok && bad.error.message).toMatch(/steps\.0\.other/);
  });

  it('errors name the file, the key and what was expected', () => {
    const bad = (text: string) => {
      const r = parseScenario(text, 'bad.yaml');
      if (r.ok) throw new Error('parsed');
      return r.error.message;
    };
    expect(bad('name: x\ndescription: d\nsteps:\n  - action: explode\n')).toMatch(
      /^bad\.yaml: steps\.0\.action: expected action moveip, .* or wait/,
    );
    expect(bad('name: x\ndescription: d\nsteps:\n  - action: stop\n    node: boss\n')).toMatch(
      /steps\.0\.node: expected a node number, "leader" or "non-leader", got "boss"/,
    );
    expect(bad('name: x\ndescription: d\nsteps:\n  - action: wait\n    ms: fast\n')).toMatch(
      /steps\.0\.ms: expected milliseconds/,
    );
    expect(bad('name: X Y\ndescription: d\nsteps: []\n')).toMatch(
      /name: expected a lower-case name.*steps: expected at least one step/,
    );
    expect(bad('name: x\ndescription: d\nsteps:\n  - action: wait\n    ms: 1\n    extra: 2\n')).toMatch(
      /Unrecognized key.*extra/,
    );
    expect(bad('steps: [')).toMatch(/^bad\.yaml: not YAML/);
    // A budget is a judged limit: without it, or without the reason for its size, the file is refused.
    const moveip = 'name: x\ndescription: d\nsteps:\n  - action: moveip\n    ip: 1\n';
    expect(bad(moveip)).toMatch(/budgets: Required/);
    expect(
      bad(
        `${moveip}budgets:\n  teardown:\n    ms: 2000\n  reconnect:\n    ms: 5000\n    reason: clients reconnect at once\n`,
      ),
    ).toMatch(/budgets\.teardown\.reason: Required/);
    const p = parseProfile('name: p\ndescription: d\nbackend: samba\nscenarios: [moveip]\n', 'p.yaml');
    expect(!p.ok && p.error.message).toMatch(/backend: .*'smbd' \| 'worker'.*got "samba"/);
  });
});
