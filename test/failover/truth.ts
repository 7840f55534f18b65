import type { Violation } from './assertions.js';
import type { Fault, ScenarioRecord } from './record.js';

/**
 * The harness's own ground truth, and how mccd's reports are held against it. mccd is the thing under
 * test: if its RELEASE_IP or ctdbd-lost events were taken as the faults that justify teardowns, a wrong
 * event would justify its own wrongful teardowns. So the faults the assertions use come from the harness's
 * actions and from `ctdb ip` on the cluster; an mccd event counts only where they corroborate it, and a
 * disagreement either way is a violation.
 */

/** A public IP leaving a node, as `ctdb ip` snapshots show it. */
export interface IpMove {
  ip: string;
  from: number;
  /** The new owner (-1: nobody). */
  to: number;
  /** First snapshot of the run of snapshots in which `from` held it. */
  firstHeldAt: number;
  /** Last snapshot in which `from` still held it. */
  lastHeldAt: number;
  /** First snapshot in which it did not. */
  goneAt: number;
}

export function ipMoves(ipOwners: ScenarioRecord['ipOwners']): IpMove[] {
  const moves: IpMove[] = [];
  const held = new Map<string, { owner: number; firstAt: number; lastAt: number }>();
  for (const snapshot of [...ipOwners].sort((a, b) => a.at - b.at)) {
    for (const [ip, owner] of Object.entries(snapshot.owners)) {
      const h = held.get(ip);
      if (h && h.owner === owner) {
        h.lastAt = snapshot.at;
        continue;
      }
      if (h && h.owner >= 0)
        moves.push({
          ip,
          from: h.owner,
          to: owner,
          firstHeldAt: h.firstAt,
          lastHeldAt: h.lastAt,
          goneAt: snapshot.at,
        });
      held.set(ip, { owner, firstAt: snapshot.at, lastAt: snapshot.at });
    }
  }
  return moves;
}

/** Faults the cluster itself shows: every public IP that left a node during the scenario. */
export function ctdbFaults(record: Pick<ScenarioRecord, 'ipOwners' | 'startAt' | 'endAt'>): Fault[] {
  return ipMoves(record.ipOwners)
    .filter((m) => m.goneAt >= record.startAt && m.goneAt <= record.endAt)
    .map((m) => ({
      at: m.goneAt,
      // The move happened after the last snapshot that still showed it: the earliest it can have begun.
      causeAt: m.lastHeldAt,
      node: m.from,
      scope: { kind: 'ip', ip: m.ip },
      clientDetected: false,
      label: `ctdb ip: ${m.ip} left node ${m.from}${m.to >= 0 ? ` for node ${m.to}` : ''}`,
      source: 'ctdb',
    }));
}

/** How long after a harness action on a node mccd's "ctdbd lost" on that node is still its consequence. */
const LOST_AFTER_ACTION_MS = 30_000;
/** mccd's event carries mccd's time of RELEASE_IP, which `ctdb ip` shows only once the takeover is done. */
const RELEASE_BEFORE_SNAPSHOT_MS = 2000;

function nodeActionBefore(
  faults: Fault[],
  node: number,
  at: number,
  only: (f: Fault) => boolean = () => true,
): Fault | undefined {
  return faults.find(
    (h) =>
      h.source === 'harness' &&
      h.scope.kind === 'node' &&
      h.node === node &&
      h.at <= at &&
      at - h.at <= LOST_AFTER_ACTION_MS &&
      only(h),
  );
}

/**
 * The faults the assertions may attribute teardowns to, and the disagreements between mccd and the
 * ground truth. Harness and ctdb faults stand on their own; an mccd fault is kept only if corroborated.
 */
export function judgeFaults(record: ScenarioRecord): { faults: Fault[]; violations: Violation[] } {
  const violations: Violation[] = [];
  const moves = ipMoves(record.ipOwners);
  const independent = [...record.faults.filter((f) => f.source !== 'mccd'), ...ctdbFaults(record)];
  const fromMccd = record.faults.filter((f) => f.source === 'mccd');
  const corroborated = fromMccd.filter((f) => {
    let ok: boolean;
    if (f.scope.kind === 'ip') {
      const ip = f.scope.ip;
      ok =
        moves.some(
          (m) =>
            m.ip === ip &&
            m.from === f.node &&
            m.firstHeldAt <= f.at &&
            m.goneAt + RELEASE_BEFORE_SNAPSHOT_MS >= f.at,
        ) || nodeActionBefore(independent, f.node, f.at, (h) => h.isolates === true) !== undefined;
    } else ok = nodeActionBefore(independent, f.node, f.at) !== undefined;
    if (!ok)
      violations.push({
        rule: 'uncorroborated-event',
        message: `mccd on node ${f.node} reported "${f.label}", which neither \`ctdb ip\` nor a harness action shows`,
      });
    return ok;
  });
  // The other direction: the cluster moved an IP off a node whose ctdbd the harness left alone, and that
  // node's mccd never said RELEASE_IP (its clients would keep channels on an address it no longer has).
  for (const m of moves) {
    if (m.goneAt < record.startAt || m.goneAt > record.endAt) continue;
    if (nodeActionBefore(independent, m.from, m.goneAt)) continue;
    const told = fromMccd.some(
      (f) =>
        f.scope.kind === 'ip' &&
        f.scope.ip === m.ip &&
        f.node === m.from &&
        f.at >= m.firstHeldAt &&
        f.at <= m.goneAt + RELEASE_BEFORE_SNAPSHOT_MS,
    );
    if (!told)
      violations.push({
        rule: 'missed-event',
        message: `\`ctdb ip\` shows ${m.ip} leaving node ${m.from}, but mccd there reported no RELEASE_IP for it`,
      });
  }
  return { faults: [...independent, ...corroborated].sort((a, b) => a.at - b.at), violations };
}

/** Below this share of answered polls the "no public IP announced" check saw too little of a node. */
const MIN_ANSWERED_SHARE = 0.5;
/** And never fewer than this many answers per node, however short the scenario. */
const MIN_ANSWERED_POLLS = 3;

/**
 * Missing observations are failures: an mccd that did not answer cannot have been seen announcing a
 * public IP, nor counted at the end, nor measured for fds.
 */
export function observationViolations(record: ScenarioRecord): Violation[] {
  const violations: Violation[] = [];
  const inScenario = record.samples.filter((s) => s.at >= record.startAt && s.at <= record.endAt);
  for (const [i, node] of record.nodes.entries()) {
    // Only while the harness had not itself stopped this mccd: a dead mccd announces nothing.
    const down = record.mccdDown.filter((d) => d.node === node.pnn);
    const polls = inScenario.filter((s) => !down.some((d) => s.at >= d.from && s.at <= d.to));
    const floor = Math.max(MIN_ANSWERED_POLLS, Math.ceil(polls.length * MIN_ANSWERED_SHARE));
    const answered = polls.filter((s) => s.answered[i] === true).length;
    const excused = inScenario.length - polls.length;
    if (answered < floor)
      violations.push({
        rule: 'unobserved',
        message: `mccd on node ${node.pnn} answered ${answered} of ${polls.length} polls${excused ? ` (${excused} more while the harness had it down)` : ''}, at least ${floor} needed to judge what it announced`,
      });
  }
  for (const pnn of record.unansweredAtEnd)
    violations.push({
      rule: 'not-settled',
      message: `mccd on node ${pnn} did not answer at the end: its channels (stale or not) are unknown`,
    });
  for (const f of record.fds) {
    if (f.before === undefined || f.after === undefined)
      violations.push({
        rule: 'fd-unknown',
        message: `mccd on node ${f.node}: fd count ${f.before === undefined ? 'before' : 'after'} the scenario not read`,
      });
  }
  return violations;
}
