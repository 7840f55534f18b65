import type { AgentLine } from '../../failover/agent.js';
import { evaluateScenario } from '../../failover/assertions.js';
import type { Budgets, Fault, ScenarioRecord } from '../../failover/record.js';

/** Crafted timelines for the failover assertions: a small world where every instant is known. */
export const A = { id: 'a', guid: '00000000-0000-4000-8000-00000000000a', publicIp: '10.0.0.101' };
export const B = { id: 'b', guid: '00000000-0000-4000-8000-00000000000b', publicIp: '10.0.0.102' };

export const bound = (id: string, at: number, servers: string[]): AgentLine => ({
  at,
  id,
  kind: 'client',
  event: 'bound',
  channels: servers.map((server, i) => ({ server, local: `10.0.0.200:${4000 + i}` })),
});
export const tornDown = (id: string, at: number, complete = true): AgentLine => ({
  at,
  id,
  kind: 'client',
  event: 'torn-down',
  cause: complete ? 'server' : 'echo-timeout',
  complete,
  firstCloseAt: at - 10,
  lastCloseAt: at,
  closed: complete ? 2 : 1,
  of: 2,
});
/** The harness's own moveip of 10.0.0.101 off node 0, at 1100. */
export const moveOf101: Fault = {
  at: 1100,
  causeAt: 1100,
  node: 0,
  scope: { kind: 'ip', ip: '10.0.0.101' },
  clientDetected: false,
  label: 'moveip of 10.0.0.101 off node 0',
  source: 'harness',
};
/** mccd's RELEASE_IP event on node 0 that corroborates it. */
export const releaseOf101: Fault = {
  ...moveOf101,
  at: 1200,
  label: 'RELEASE_IP 10.0.0.101 on node 0',
  source: 'mccd',
};
export const BUDGETS: Budgets = {
  teardown: { ms: 2000, reason: 'RELEASE_IP arrives at once' },
  reconnect: { ms: 5000, reason: 'clients reconnect at once' },
};
/** `ctdb ip`: 10.0.0.101 on node 0 until the moveip, on node 1 from 1400; 10.0.0.102 stays on node 1. */
export const ownersMoving101: ScenarioRecord['ipOwners'] = [
  { at: 900, owners: { '10.0.0.101': 0, '10.0.0.102': 1 } },
  { at: 1100, owners: { '10.0.0.101': 0, '10.0.0.102': 1 } },
  { at: 1400, owners: { '10.0.0.101': 1, '10.0.0.102': 1 } },
  { at: 4900, owners: { '10.0.0.101': 1, '10.0.0.102': 1 } },
];
const answeredBoth = (at: number, channels: number[]) => ({ at, channels, answered: [true, true] });

/** a on node 0 through 10.0.0.101, b on node 1 through 10.0.0.102; 10.0.0.101 moves to node 1. */
export function record(overrides: Partial<ScenarioRecord> = {}): ScenarioRecord {
  return {
    name: 'moveip',
    description: 'd',
    steps: ['ctdb moveip 0 to next'],
    startAt: 1000,
    endAt: 5000,
    nodes: [
      { pnn: 0, address: '10.0.0.1' },
      { pnn: 1, address: '10.0.0.2' },
    ],
    publicIps: ['10.0.0.101', '10.0.0.102'],
    clients: [A, B],
    smbclients: [],
    lines: [
      bound('a', 0, ['10.0.0.101', '10.0.0.1']),
      bound('b', 0, ['10.0.0.102', '10.0.0.2']),
      tornDown('a', 1260),
      bound('a', 1500, ['10.0.0.101', '10.0.0.2']),
    ],
    faults: [moveOf101, releaseOf101],
    markers: [{ at: 1100, kind: 'action', label: 'moveip 10.0.0.101 0→1', node: 0 }],
    samples: [
      answeredBoth(900, [2, 2]),
      answeredBoth(1300, [0, 2]),
      answeredBoth(1600, [0, 4]),
      answeredBoth(3000, [0, 4]),
      answeredBoth(4500, [0, 4]),
    ],
    finalPlacement: {
      [A.guid]: [{ node: 1, channels: 2 }],
      [B.guid]: [{ node: 1, channels: 2 }],
    },
    unansweredAtEnd: [],
    budgets: BUDGETS,
    publicAnnounced: [],
    serverInterfaces: 'client-fsctl',
    fds: [{ node: 0, before: 30, after: 30, samePid: true, grew: '' }],
    settled: true,
    ipOwners: ownersMoving101,
    mccdDown: [],
    ...overrides,
  };
}

export const rules = (r: ScenarioRecord) => evaluateScenario(r).violations.map((v) => v.rule);
