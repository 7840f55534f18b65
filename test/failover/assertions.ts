import type { AgentLine } from './agent.js';
import type { Fault, ScenarioRecord } from './record.js';
import { serverAnswerViolations } from './server-interfaces.js';
import type { SimClientSpec } from './sim-client.js';
import { judgeFaults, observationViolations } from './truth.js';

/**
 * The failover assertions, as pure functions of a ScenarioRecord:
 * - no public IP is ever announced (mccd's list, what clients were told, and smbd's own FSCTL answer);
 * - every client a fault concerned is torn down completely (all channels, by the server) and comes back
 *   with all its channels on one node;
 * - no other client loses a channel; no smbclient session is lost without a fault on its IP's node;
 * - after settling, each client's channels are on exactly one node, nothing left behind elsewhere;
 * - mccd's fd count does not grow across the scenario;
 * - teardown and reconnect times stay within the scenario's budgets;
 * - faults come from the harness's actions and `ctdb ip`; mccd's events only corroborate (truth.ts);
 * - every node was observed: enough answered polls, an answer at the end, an fd count before and after;
 * - a client connecting while mccd restarts is served once it is back (restart-mccd's probe).
 */
export interface Violation {
  rule:
    | 'public-ip-announced'
    | 'not-torn-down'
    | 'partial-teardown'
    | 'untouched-client-lost-channels'
    | 'not-reconnected'
    | 'split-or-stale'
    | 'fd-leak'
    | 'connection-failed'
    | 'smbclient'
    | 'not-settled'
    | 'over-budget'
    | 'uncorroborated-event'
    | 'missed-event'
    | 'unobserved'
    | 'fd-unknown'
    | 'refused-during-restart';
  message: string;
}

export interface Latencies {
  /** Fault's action → the client's last channel closed. */
  teardownMs: number[];
  /** First channel closed → every channel negotiated again. */
  reconnectMs: number[];
  /** smbclient: session lost (noticed) → a listing works again. */
  smbclientRestoreMs: number[];
}

export interface ScenarioResult {
  name: string;
  passed: boolean;
  violations: Violation[];
  affectedClients: number;
  untouchedClients: number;
  teardowns: number;
  latencies: Latencies;
  smbclientLost: number;
}

type ClientLine = Extract<AgentLine, { kind: 'client' }>;
type Bound = Extract<ClientLine, { event: 'bound' }>;
type TornDown = Extract<ClientLine, { event: 'torn-down' }>;

/**
 * A client may finish binding to a node just after a fault there began (its NEGOTIATE was in flight).
 * Only this side is slack: a teardown that ends before its fault's action is never credited to it.
 */
const BOUND_SLACK_MS = 3000;
const SOURCE_RANK = { harness: 0, ctdb: 1, mccd: 2 } as const;

/** Which node a bound client is on: the node owning the fixed addresses among its channels. */
export function nodeOfBound(
  line: Bound,
  record: Pick<ScenarioRecord, 'nodes' | 'publicIps'>,
): number | undefined {
  for (const c of line.channels) {
    const node = record.nodes.find((n) => n.address === c.server);
    if (node) return node.pnn;
  }
  return undefined;
}

/** Reports of one event by several sources (an action, `ctdb ip` after it, mccd's event) lie this close. */
const SAME_EVENT_MS = 2000;

/**
 * The fault a teardown answers: the latest one before its first close, not the first in the stint (a
 * stint can start just after one fault, within BOUND_SLACK_MS, and end at a later one). Among reports of
 * that same event, the harness's own action times it best, then the cluster's view, mccd's last.
 */
export function causeOf(relevant: Fault[], firstCloseAt: number): Fault | undefined {
  const before = relevant.filter((f) => f.causeAt <= firstCloseAt);
  const latest = Math.max(...before.map((f) => f.causeAt));
  const candidates = before.length > 0 ? before.filter((f) => latest - f.causeAt <= SAME_EVENT_MS) : relevant;
  return [...candidates].sort(
    (a, b) => SOURCE_RANK[a.source] - SOURCE_RANK[b.source] || a.causeAt - b.causeAt,
  )[0];
}

function concerns(f: Fault, client: SimClientSpec): boolean {
  if (f.scope.kind === 'node') return true;
  if (f.scope.kind === 'ip') return f.scope.ip === client.publicIp;
  return f.scope.guids.includes(client.guid);
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

interface Stint {
  bound: Bound;
  node: number | undefined;
  end: TornDown | undefined;
  next: Bound | undefined;
}

/** A client's life as stints: bound on a node until torn down, then the next bound. */
function stints(lines: ClientLine[], record: ScenarioRecord): Stint[] {
  const out: Stint[] = [];
  let current: Stint | undefined;
  for (const line of lines) {
    if (line.event === 'bound') {
      if (current) current.next = line;
      current = { bound: line, node: nodeOfBound(line, record), end: undefined, next: undefined };
      out.push(current);
    } else if (line.event === 'torn-down' && current && !current.end) {
      current.end = line;
    }
  }
  return out;
}

export function evaluateScenario(record: ScenarioRecord): ScenarioResult {
  const judged = judgeFaults(record);
  const faults = judged.faults;
  const violations: Violation[] = [
    ...judged.violations,
    ...observationViolations(record),
    ...serverAnswerViolations(record),
  ];
  const { teardown, reconnect } = record.budgets;
  const latencies: Latencies = { teardownMs: [], reconnectMs: [], smbclientRestoreMs: [] };
  const inWindow = (at: number) => at >= record.startAt && at <= record.endAt;

  for (const problem of record.stepProblems ?? [])
    violations.push({ rule: 'refused-during-restart', message: problem });
  for (const c of record.checks ?? [])
    if (!c.ok) violations.push({ rule: 'connection-failed', message: `${c.label}: ${c.detail}` });
  if (record.baselineNote)
    violations.push({
      rule: 'not-settled',
      message: `not settled when the scenario began: ${record.baselineNote}`,
    });
  if (!record.settled)
    violations.push({ rule: 'not-settled', message: `did not settle: ${record.settleNote ?? 'timed out'}` });
  const seenAnnounced = new Set<string>();
  for (const p of record.publicAnnounced) {
    const key = `${p.node}/${p.ip}/${p.via}`;
    if (seenAnnounced.has(key)) continue;
    seenAnnounced.add(key);
    violations.push({
      rule: 'public-ip-announced',
      message: `node ${p.node} announced public IP ${p.ip} (seen by ${p.via})`,
    });
  }
  for (const line of record.lines) {
    if (line.kind !== 'client' || line.event !== 'announced' || !inWindow(line.at)) continue;
    for (const a of line.addresses.filter((x) => record.publicIps.includes(x))) {
      const key = `client/${a}`;
      if (seenAnnounced.has(key)) continue;
      seenAnnounced.add(key);
      violations.push({
        rule: 'public-ip-announced',
        message: `client ${line.id} was told about public IP ${a} (${line.source})`,
      });
    }
  }

  let affected = 0;
  let untouched = 0;
  let teardowns = 0;
  for (const client of record.clients) {
    const lines = record.lines.filter((l): l is ClientLine => l.kind === 'client' && l.id === client.id);
    const life = stints(lines, record).filter(
      (s) => s.bound.at <= record.endAt && (!s.end || s.end.firstCloseAt >= record.startAt),
    );
    let touched = false;
    for (const stint of life) {
      const node = stint.node;
      const until = stint.end ? stint.end.lastCloseAt : record.endAt;
      // Faults on this client's node while it was there (their cause counted from the action).
      const relevant = faults.filter(
        (f) =>
          f.node === node &&
          concerns(f, client) &&
          f.at >= stint.bound.at - BOUND_SLACK_MS &&
          Math.min(f.at, f.causeAt) <= until,
      );
      if (stint.end && inWindow(stint.end.firstCloseAt)) {
        touched = true;
        teardowns++;
        const cause = causeOf(relevant, stint.end.firstCloseAt);
        if (!cause) {
          violations.push({
            rule: 'untouched-client-lost-channels',
            message: `client ${client.id} (${client.publicIp}) lost ${stint.end.closed} of ${stint.end.of} channel(s) on node ${node} with no fault concerning it`,
          });
        } else {
          if (!stint.end.complete && !relevant.some((f) => f.clientDetected) && !cause.backendRule) {
            violations.push({
              rule: 'partial-teardown',
              message: `client ${client.id}: only ${stint.end.closed} of ${stint.end.of} channel(s) closed by node ${node} after ${cause.label}`,
            });
          }
          const teardownMs = stint.end.lastCloseAt - cause.causeAt;
          // A backend's own drop is timed by the backend (and by the spoofer's hold): its step records
          // it as a finding, and it stays out of the figures judged against the budget.
          if (!cause.backendRule) latencies.teardownMs.push(teardownMs);
          if (teardownMs > teardown.ms && !cause.backendRule)
            violations.push({
              rule: 'over-budget',
              message: `client ${client.id}: teardown took ${teardownMs} ms after ${cause.label}, budget ${teardown.ms} ms (${teardown.reason})`,
            });
        }
        if (stint.next) {
          const reconnectMs = stint.next.at - stint.end.firstCloseAt;
          latencies.reconnectMs.push(reconnectMs);
          if (reconnectMs > reconnect.ms)
            violations.push({
              rule: 'over-budget',
              message: `client ${client.id}: reconnect took ${reconnectMs} ms, budget ${reconnect.ms} ms (${reconnect.reason})`,
            });
        } else
          violations.push({
            rule: 'not-reconnected',
            message: `client ${client.id} did not come back after its teardown on node ${node}`,
          });
      } else if (!stint.end) {
        // Still bound: no fault may have concerned it while it stayed.
        const missed = relevant.filter(
          (f) => inWindow(f.at) && f.causeAt >= stint.bound.at && !f.backendRule,
        );
        if (missed.length > 0) {
          violations.push({
            rule: 'not-torn-down',
            message: `client ${client.id} (${client.publicIp}) kept its channels on node ${node} through ${missed[0]!.label}`,
          });
        }
      }
    }
    if (touched) affected++;
    else untouched++;
    const last = lines.filter((l) => l.event === 'bound' || l.event === 'torn-down').at(-1);
    if (last?.event !== 'bound') {
      if (record.settled)
        violations.push({
          rule: 'not-reconnected',
          message: `client ${client.id} is not connected at the end`,
        });
      continue;
    }
    const node = nodeOfBound(last, record);
    const placed = record.finalPlacement[client.guid] ?? [];
    if (placed.length !== 1 || placed[0]!.node !== node || placed[0]!.channels !== last.channels.length) {
      violations.push({
        rule: 'split-or-stale',
        message: `client ${client.id}: ${last.channels.length} channel(s) on node ${node} as it sees it, mccd has ${placed.map((p) => `${p.channels} on node ${p.node}`).join(', ') || 'none'}`,
      });
    }
  }

  const smbclientLost = evaluateSmbclients(record, faults, violations, latencies);
  for (const f of record.fds) {
    if (f.samePid && f.before !== undefined && f.after !== undefined && f.after > f.before + 2) {
      violations.push({
        rule: 'fd-leak',
        message: `mccd on node ${f.node}: ${f.before} fds before, ${f.after} after (${f.grew || 'no new kind'})`,
      });
    }
  }
  return {
    name: record.name,
    passed: violations.length === 0,
    violations,
    affectedClients: affected,
    untouchedClients: untouched,
    teardowns,
    latencies,
    smbclientLost,
  };
}

function ownerAt(record: ScenarioRecord, ip: string, at: number): number | undefined {
  let owner: number | undefined;
  for (const s of record.ipOwners) if (s.at <= at) owner = s.owners[ip];
  return owner;
}

function evaluateSmbclients(
  record: ScenarioRecord,
  faults: Fault[],
  violations: Violation[],
  latencies: Latencies,
): number {
  let lost = 0;
  for (const s of record.smbclients) {
    const lines = record.lines.filter((l) => l.kind === 'smbclient' && l.id === s.id);
    let upAt: number | undefined;
    let lostAt: number | undefined;
    for (const line of lines) {
      if (line.kind !== 'smbclient') continue;
      if (line.event === 'session-up') {
        if (lostAt !== undefined && line.at >= record.startAt)
          latencies.smbclientRestoreMs.push(line.at - lostAt);
        upAt = line.at;
        lostAt = undefined;
      } else if (line.event === 'session-lost') {
        lostAt = line.at;
        if (line.at < record.startAt || line.at > record.endAt) continue;
        lost++;
        const explained = faults.some((f) => {
          const inStint = f.at >= (upAt ?? 0) - BOUND_SLACK_MS && Math.min(f.at, f.causeAt) <= line.at;
          if (!inStint) return false;
          if (f.scope.kind === 'ip') return f.scope.ip === s.publicIp;
          return f.scope.kind === 'node' && ownerAt(record, s.publicIp, f.causeAt) === f.node;
        });
        if (!explained)
          violations.push({
            rule: 'smbclient',
            message: `smbclient ${s.id} (${s.publicIp}) lost its session with no fault on its node: ${line.detail}`,
          });
      }
    }
    if (record.settled && (upAt === undefined || lostAt !== undefined))
      violations.push({
        rule: 'smbclient',
        message: `smbclient ${s.id} (${s.publicIp}) has no working session at the end`,
      });
  }
  return lost;
}
