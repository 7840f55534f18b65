import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { canonicalIp } from '../../wire/ip.js';
import { parseSmbtortureInterfaces } from '../harness/smbd.js';
import type { AgentLine } from './agent.js';
import type { Violation } from './assertions.js';
import type { ScenarioRecord } from './record.js';

/**
 * What smbd itself tells a client, independent of mccd's API: from the client namespace, smbtorture opens
 * an authenticated session to a public IP (through mccd to the smbd that serves it, as every client's
 * first channel does) and prints smbd's FSCTL_QUERY_NETWORK_INTERFACE_INFO answer, which
 * parseSmbtortureInterfaces decodes. Each round asks through every public IP, one after the other so the
 * probes never pile up on two shared cores, so even a short scenario hears from each IP's smbd.
 */
export interface ProbeSpec {
  publicIps: string[];
  port: number;
  share: string;
  user: string;
  password: string;
  tickMs: number;
  timeoutMs: number;
}

export type ProbeEvent =
  | { event: 'answered'; server: string; addresses: string[] }
  | { event: 'failed'; server: string; detail: string };

const PASSED = /success: network_interface_info/;

export class SmbdInterfaceProbe {
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly spec: ProbeSpec,
    private readonly emit: (e: ProbeEvent) => void,
  ) {}

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      for (const server of this.spec.publicIps) {
        if (this.stopped) return;
        this.emit(await this.probe(server));
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, this.spec.tickMs).unref();
      });
    }
  }

  private probe(server: string): Promise<ProbeEvent> {
    const argv = [
      `//${server}/${this.spec.share}`,
      '-p',
      String(this.spec.port),
      '-U',
      `${this.spec.user}%${this.spec.password}`,
      'smb2.ioctl.network_interface_info',
      '-d1',
    ];
    return new Promise((resolve) => {
      execFile(
        'smbtorture',
        argv,
        { timeout: this.spec.timeoutMs, cwd: tmpdir() },
        (error, stdout, stderr) => {
          resolve(judgeProbeOutput(server, stdout, stderr, error ? error.message : undefined));
        },
      );
    });
  }
}

/**
 * An answer counts only when smbtorture passed and the dump holds at least one entry: an empty parse of
 * a passing run means the dump format changed, not that smbd announced nothing.
 */
export function judgeProbeOutput(
  server: string,
  stdout: string,
  stderr: string,
  failure: string | undefined,
): ProbeEvent {
  if (failure !== undefined || !PASSED.test(stdout))
    return {
      event: 'failed',
      server,
      detail: lastLine(stdout) || lastLine(stderr) || (failure ?? 'no output'),
    };
  const addresses = parseSmbtortureInterfaces(`${stdout}\n${stderr}`).map((e) => e.address);
  if (addresses.length === 0)
    return { event: 'failed', server, detail: 'smbtorture passed but printed no interface entry' };
  return { event: 'answered', server, addresses };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}

/** Answered probes each public IP needs per scenario before "smbd announced no public IP" means anything. */
export const MIN_ANSWERED_PROBES = 1;

type ProbeLine = Extract<AgentLine, { kind: 'probe' }>;

/**
 * smbd's own answers judged: a public IP in any of them is a violation, and in the smbd profile every
 * public IP's smbd must have answered within the scenario, or the check saw nothing.
 */
export function serverAnswerViolations(record: ScenarioRecord): Violation[] {
  const violations: Violation[] = [];
  const probes = record.lines.filter(
    (l): l is ProbeLine => l.kind === 'probe' && l.at >= record.startAt && l.at <= record.endAt,
  );
  const publicIps = new Set(record.publicIps.map(comparable));
  const reported = new Set<string>();
  for (const p of probes) {
    if (p.event !== 'answered') continue;
    for (const a of p.addresses.filter((x) => publicIps.has(comparable(x)))) {
      const key = `${p.server}/${a}`;
      if (reported.has(key)) continue;
      reported.add(key);
      violations.push({
        rule: 'public-ip-announced',
        message: `smbd reached through ${p.server} answered FSCTL_QUERY_NETWORK_INTERFACE_INFO with public IP ${a} (smbtorture)`,
      });
    }
  }
  if (record.serverInterfaces !== 'smbtorture-probe') return violations;
  for (const ip of record.publicIps) {
    const mine = probes.filter((p) => p.server === ip);
    const answered = mine.filter((p) => p.event === 'answered').length;
    if (answered < MIN_ANSWERED_PROBES)
      violations.push({
        rule: 'unobserved',
        message: `smbd behind ${ip} answered ${answered} of ${mine.length} interface probes (at least ${MIN_ANSWERED_PROBES} needed to judge what it told clients)${lastFailure(mine)}`,
      });
  }
  return violations;
}

function lastFailure(probes: ProbeLine[]): string {
  const failed = probes.filter((p) => p.event === 'failed').at(-1);
  return failed?.event === 'failed' ? `; last failure: ${failed.detail}` : '';
}

/**
 * Addresses as comparable text: smbtorture prints IPv6 groups zero-padded ("fd00:0000:…"); text that is
 * no address stays as it is (it then matches no public IP, and the parse test catches a format change).
 */
function comparable(address: string): string {
  try {
    return canonicalIp(address.includes(':') ? address.replace(/(^|:)0+(?=[0-9a-f])/gi, '$1') : address);
  } catch {
    return address;
  }
}
