import { describe, expect, it } from 'vitest';
import type { AgentLine } from '../../failover/agent.js';
import { evaluateScenario, percentile } from '../../failover/assertions.js';
import type { Fault, ScenarioRecord } from '../../failover/record.js';
import { htmlReport, markdownReport, terminalSummary, timelineSvg } from '../../failover/report.js';
import { A, B, BUDGETS, bound, moveOf101, record, rules, tornDown } from './fixtures.js';

describe('failover assertions', () => {
  it('the client on the released IP torn down completely and back on one node, the other untouched: passes', () => {
    const result = evaluateScenario(record());
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ passed: true, affectedClients: 1, untouchedClients: 1, teardowns: 1 });
    expect(result.latencies.teardownMs).toEqual([160]);
    expect(result.latencies.reconnectMs).toEqual([250]);
  });

  it('a client with no channel on the released IP losing its channels is a violation', () => {
    const r = record();
    r.lines.push(tornDown('b', 1300), bound('b', 1400, ['10.0.0.102', '10.0.0.2']));
    expect(rules(r)).toEqual(['untouched-client-lost-channels']);
  });

  it('a client that keeps its channels through the release of its IP is a violation', () => {
    const r = record({
      lines: record().lines.slice(0, 2),
      finalPlacement: { [A.guid]: [{ node: 0, channels: 2 }], [B.guid]: [{ node: 1, channels: 2 }] },
    });
    expect(rules(r)).toEqual(['not-torn-down']);
  });

  it('a partial teardown is a violation unless the node could not close anything (partition)', () => {
    const lines = [...record().lines];
    lines[2] = tornDown('a', 1260, false);
    expect(rules(record({ lines }))).toEqual(['partial-teardown']);
    const partition: Fault = {
      ...moveOf101,
      scope: { kind: 'node' },
      clientDetected: true,
      label: 'partition of node 0',
    };
    expect(rules(record({ lines, faults: [partition] }))).toEqual([]);
  });

  it("a backend's own rule (smbd 4.17 ending a client when a spoofed connection on its public IP closes) explains a loss, partial or slow, and a kept client alike; the reconnect is still judged", () => {
    const spoof: Fault = {
      ...moveOf101,
      scope: { kind: 'clients', guids: [A.guid] },
      backendRule: true,
      label: "spoofed connections with a's ClientGUID on its public IP, closed",
    };
    const still: ScenarioRecord['ipOwners'] = [
      { at: 900, owners: { '10.0.0.101': 0, '10.0.0.102': 1 } },
      { at: 4900, owners: { '10.0.0.101': 0, '10.0.0.102': 1 } },
    ];
    const onNode0 = {
      [A.guid]: [{ node: 0, channels: 2 }],
      [B.guid]: [{ node: 1, channels: 2 }],
    };
    const base = record().lines.slice(0, 2);
    const at = (lines: AgentLine[]) =>
      record({ lines, faults: [spoof], ipOwners: still, finalPlacement: onNode0, markers: [] });
    // Partial, and 2,200 ms after the spoof (over the 2 s teardown budget): not judged, and kept out of
    // the judged figures (the step's finding records it); the reconnect is judged and counted.
    const slowPartial = [...base, tornDown('a', 3300, false), bound('a', 3400, ['10.0.0.101', '10.0.0.1'])];
    expect(rules(at(slowPartial))).toEqual([]);
    expect(evaluateScenario(at(slowPartial)).latencies).toMatchObject({ teardownMs: [], reconnectMs: [110] });
    expect(rules(at(base))).toEqual([]);
    const lateBack = [...base, tornDown('a', 3300), bound('a', 8400, ['10.0.0.101', '10.0.0.1'])];
    expect(rules(at(lateBack))).toEqual(['over-budget']);
    // The same loss with no fault at all is a violation, and so is a partial one under an ordinary fault.
    expect(rules(record({ ...at(slowPartial), faults: [] }))).toEqual(['untouched-client-lost-channels']);
    expect(rules(record({ ...at(slowPartial), faults: [{ ...spoof, backendRule: false }] }))).toEqual([
      'partial-teardown',
      'over-budget',
    ]);
  });

  it('channels left on the old node, a missing reconnect, a public IP announced and fd growth are each named', () => {
    expect(
      rules(
        record({
          finalPlacement: {
            [A.guid]: [
              { node: 1, channels: 2 },
              { node: 0, channels: 1 },
            ],
            [B.guid]: [{ node: 1, channels: 2 }],
          },
        }),
      ),
    ).toEqual(['split-or-stale']);
    expect(rules(record({ lines: record().lines.slice(0, 3) }))).toEqual([
      'not-reconnected',
      'not-reconnected',
    ]);
    expect(
      rules(record({ publicAnnounced: [{ at: 1300, node: 1, ip: '10.0.0.101', via: 'mccd-api' }] })),
    ).toEqual(['public-ip-announced']);
    expect(
      rules(record({ fds: [{ node: 0, before: 30, after: 40, samePid: true, grew: '+10 socket' }] })),
    ).toEqual(['fd-leak']);
    expect(rules(record({ fds: [{ node: 0, before: 30, after: 40, samePid: false, grew: '' }] }))).toEqual(
      [],
    );
    expect(rules(record({ settled: false, settleNote: 'client a is on 2 nodes' }))).toContain('not-settled');
  });

  it('a smbclient session lost without a fault on its IP is a violation; with one it must come back', () => {
    const s = { id: 's0', publicIp: '10.0.0.102', share: 'share', user: 'u', password: 'p' };
    const lost: AgentLine = {
      at: 1300,
      id: 's0',
      kind: 'smbclient',
      event: 'session-lost',
      detail: 'NT_STATUS_CONNECTION_RESET',
    };
    const up = (at: number): AgentLine => ({
      at,
      id: 's0',
      kind: 'smbclient',
      event: 'session-up',
      attempt: 1,
    });
    expect(rules(record({ smbclients: [s], lines: [...record().lines, up(0), lost, up(1700)] }))).toEqual([
      'smbclient',
    ]);
    const moved = { ...s, publicIp: '10.0.0.101' };
    const result = evaluateScenario(
      record({ smbclients: [moved], lines: [...record().lines, up(0), lost, up(1700)] }),
    );
    expect(result.violations).toEqual([]);
    expect(result.latencies.smbclientRestoreMs).toEqual([400]);
    expect(rules(record({ smbclients: [moved], lines: [...record().lines, up(0), lost] }))).toEqual([
      'smbclient',
    ]);
  });

  it('percentiles are nearest-rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 100], 95)).toBe(100);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('failover report', () => {
  const run = {
    profile: {
      name: 'short',
      description: 'd',
      nodes: 2,
      backend: 'smbd' as const,
      cluster: 'containers' as const,
      smbdPool: 4,
      clients: 2,
      smbclientSessions: 0,
      scenarios: ['moveip'],
    },
    platform: '2 ctdbd nodes as containers, smbd with `clustering = yes`',
    startedAt: 0,
    setupMs: 17_000,
    totalMs: 30_000,
    passed: true,
    scenarios: [
      {
        scenario: { name: 'moveip', description: 'd', steps: [], settleTimeoutMs: 1, budgets: BUDGETS },
        record: record(),
        result: evaluateScenario(record()),
      },
    ],
  };

  it('the timeline has one line per node, a dashed line per action and a tick per cluster event', () => {
    const r = record({
      markers: [
        ...record().markers,
        { at: 1200, node: 0, kind: 'ip-released', label: 'node 0 released 10.0.0.101' },
      ],
    });
    const svg = timelineSvg(r);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1);
    expect(svg).toContain('<title>node 0 released 10.0.0.101</title>');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('terminal, Markdown and HTML name the scenario, the result and the latencies; HTML loads nothing', () => {
    expect(terminalSummary(run)).toMatch(
      /moveip\s+PASS\s+1 torn down \/ 1 untouched\s+160 \/ 160 \/ 160\s+250 \/ 250 \/ 250/,
    );
    const { markdown, svgs } = markdownReport(run, 'npm run failover');
    expect(markdown).toContain('Command: `npm run failover`');
    expect(markdown).toContain('2 ctdbd nodes as containers, smbd with `clustering = yes`');
    expect(markdown).toContain('![timeline of moveip](moveip.svg)');
    expect(Object.keys(svgs)).toEqual(['moveip.svg']);
    const html = htmlReport(run, 'npm run failover');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src=/);
  });
});
