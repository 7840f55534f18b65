import { describe, expect, it } from 'vitest';
import type { AgentLine } from '../../failover/agent.js';
import { judgeProbeOutput, serverAnswerViolations } from '../../failover/server-interfaces.js';
import { record, rules } from './fixtures.js';

// smbd's own FSCTL answer, as smbtorture prints it at -d1 (trimmed to the fields the parser reads).
const dump = (addresses: string[]) =>
  addresses
    .map(
      (a, i) => `    ${i ? 'next' : 'info'}: struct fsctl_net_iface_info
        next                     : 0x00000000 (0)
        ifindex                  : 0x00000002 (2)
        capability               : 0x00000001 (1)
        reserved                 : 0x00000000 (0)
        linkspeed                : 0x00000000540be400 (10000000000)
        sockaddr: struct fsctl_sockaddr_storage
            family                   : 0x0002 (2)
            ${a.includes(':') ? 'ipv6' : 'ipv4'}                     : ${a}`,
    )
    .join('\n');
const passed =
  'smbtorture 4.17\nUsing seed 1\ntest: network_interface_info\nsuccess: network_interface_info\n';

const answered = (at: number, server: string, addresses: string[]): AgentLine => ({
  at,
  id: server,
  kind: 'probe',
  event: 'answered',
  server,
  addresses,
});
const failed = (at: number, server: string): AgentLine => ({
  at,
  id: server,
  kind: 'probe',
  event: 'failed',
  server,
  detail: 'NT_STATUS_CONNECTION_REFUSED',
});
const bothAnswerCleanly = [
  answered(1500, '10.0.0.101', ['10.0.1.1']),
  answered(2500, '10.0.0.102', ['10.0.1.2']),
];

describe('smbtorture probe output', () => {
  it('a passing run yields the addresses smbd announced, IPv6 included', () => {
    const e = judgeProbeOutput(
      '10.0.0.101',
      passed,
      `\n${dump(['10.0.1.1', 'fd00:0000:0000:0000:0000:0000:0000:0011'])}\n`,
      undefined,
    );
    expect(e).toEqual({
      event: 'answered',
      server: '10.0.0.101',
      addresses: ['10.0.1.1', 'fd00:0000:0000:0000:0000:0000:0000:0011'],
    });
  });

  it('a failed run, or a passing run whose dump has no entry, is no answer', () => {
    expect(
      judgeProbeOutput('10.0.0.101', 'failure: network_interface_info\n', dump(['10.0.1.1']), undefined)
        .event,
    ).toBe('failed');
    expect(judgeProbeOutput('10.0.0.101', passed, dump(['10.0.1.1']), 'Command failed').event).toBe('failed');
    expect(judgeProbeOutput('10.0.0.101', passed, 'no dump here', undefined)).toEqual({
      event: 'failed',
      server: '10.0.0.101',
      detail: 'smbtorture passed but printed no interface entry',
    });
  });
});

describe("smbd's own answers in a scenario", () => {
  it('a clean probe record passes', () => {
    const r = record({ serverInterfaces: 'smbtorture-probe', lines: bothAnswerCleanly });
    expect(serverAnswerViolations(r)).toEqual([]);
  });

  it('smbd announcing a public IP is a violation, even zero-padded as smbtorture prints IPv6', () => {
    const r = record({
      serverInterfaces: 'smbtorture-probe',
      publicIps: ['10.0.0.101', 'fd00::101'],
      lines: [
        answered(1500, '10.0.0.101', ['10.0.1.1', '10.0.0.101']),
        answered(2500, 'fd00::101', ['fd00:0000:0000:0000:0000:0000:0000:0101']),
      ],
    });
    expect(serverAnswerViolations(r).map((v) => v.message)).toEqual([
      'smbd reached through 10.0.0.101 answered FSCTL_QUERY_NETWORK_INTERFACE_INFO with public IP 10.0.0.101 (smbtorture)',
      'smbd reached through fd00::101 answered FSCTL_QUERY_NETWORK_INTERFACE_INFO with public IP fd00:0000:0000:0000:0000:0000:0000:0101 (smbtorture)',
    ]);
    expect(rules(r)).toContain('public-ip-announced');
  });

  it('a public IP whose smbd never answered within the scenario leaves the check unobserved', () => {
    const r = record({
      serverInterfaces: 'smbtorture-probe',
      lines: [
        answered(1500, '10.0.0.101', ['10.0.1.1']),
        failed(2500, '10.0.0.102'),
        answered(900, '10.0.0.102', ['10.0.1.2']),
      ],
    });
    expect(serverAnswerViolations(r)).toEqual([
      {
        rule: 'unobserved',
        message:
          'smbd behind 10.0.0.102 answered 0 of 1 interface probes (at least 1 needed to judge what it told clients); last failure: NT_STATUS_CONNECTION_REFUSED',
      },
    ]);
  });

  it('the worker profile needs no probes (its clients ask the worker themselves)', () => {
    expect(serverAnswerViolations(record({ serverInterfaces: 'client-fsctl' }))).toEqual([]);
  });
});
