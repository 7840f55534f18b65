import { waitFor } from '../harness/netns.js';
import { performStep, type StepContext } from './actions.js';
import { evaluateScenario, type ScenarioResult } from './assertions.js';
import type { Fault, FdCount, Marker, ScenarioRecord } from './record.js';
import { FailoverRig } from './rig.js';
import { describeStep, type Profile, type Scenario } from './scenario.js';

export interface ScenarioRun {
  scenario: Scenario;
  record: ScenarioRecord;
  result: ScenarioResult;
}

export interface FailoverRun {
  profile: Profile;
  /** What the run stood on: engine, image, smbd configuration (from the platform). */
  platform: string;
  /** smbd's smb.conf on node 0, as the run wrote it (the other nodes differ only in `interfaces =`). */
  smbConf?: string;
  startedAt: number;
  setupMs: number;
  totalMs: number;
  scenarios: ScenarioRun[];
  passed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every client connected with all its channels on one node, every smbclient session listing, as mccd
 * sees it too; twice in a row a second apart. Returns why not when the time runs out.
 */
async function settle(rig: FailoverRig, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  let why = '';
  while (Date.now() < deadline) {
    why = await unsettled(rig);
    streak = why ? 0 : streak + 1;
    if (streak >= 2) return undefined;
    await sleep(1000);
  }
  return why;
}

async function unsettled(rig: FailoverRig): Promise<string> {
  const down = [...rig.clientStates().entries()].filter(([, s]) => s !== 'bound').map(([id]) => id);
  if (down.length > 0) return `${down.length} client(s) not connected (${down.slice(0, 5).join(', ')})`;
  const up = rig.smbclientsUp();
  if (up < rig.smbclients.length) return `${rig.smbclients.length - up} smbclient session(s) down`;
  const { placement, unanswered } = await rig.observer.placement();
  if (unanswered.length > 0) return `mccd on node(s) ${unanswered.join(', ')} not answering`;
  const holds = rig.clientChannelCounts();
  for (const c of rig.clients) {
    const placed = placement[c.guid] ?? [];
    if (placed.length !== 1) return `client ${c.id} is on ${placed.length} nodes`;
    // A node cut off by a partition never got the FINs of the channels its clients gave up; each stays
    // open there until the client's retransmitted FIN lands after the heal (TCP backs off: up to ~13 s
    // after a 15 s partition). Settling waits for that; a channel that never goes is judged afterwards.
    if (placed[0]!.channels !== holds.get(c.id))
      return `client ${c.id} holds ${holds.get(c.id) ?? 0} channel(s), mccd on node ${placed[0]!.node} has ${placed[0]!.channels}`;
  }
  return '';
}

/**
 * mccd's fds once it is quiet: the smbd pool refilled (a member being started, or one that just took a
 * client and has not closed its carrier yet, holds an fd for a moment).
 */
async function fdCounts(rig: FailoverRig) {
  await Promise.all(rig.mccds.map((m) => m.waitPoolReady(10_000).catch(() => undefined)));
  return Promise.all(
    rig.mccds.map(async (m) => ({ node: m.pnn, pid: m.mccdPid(), ...(await rig.observer.fds(m.pnn)) })),
  );
}

/** Which kinds of fd there are more of afterwards, e.g. "+3 socket". */
function growth(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
): string {
  if (!before || !after) return '';
  return Object.entries(after)
    .map(([kind, n]) => [kind, n - (before[kind] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .map(([kind, d]) => `+${d} ${kind}`)
    .join(', ');
}

/**
 * `ctdb ip` every half second while the steps run, as the ground truth of who held which public IP: the
 * snapshots taken at each action alone would miss the moves ctdb makes by itself (rebalances, failovers).
 * A poll that fails (the queried ctdbd was just killed, or recovery is running) is retried on the next
 * tick.
 */
function pollOwners(ctx: StepContext): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await ctx.owners().catch(() => undefined);
      await sleep(500);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

export async function runScenario(
  rig: FailoverRig,
  scenario: Scenario,
  progress: (line: string) => void,
): Promise<ScenarioRun> {
  progress(`scenario ${scenario.name}: waiting for every client to be connected`);
  const baseline = await settle(rig, 90_000);
  if (baseline)
    throw new Error(`scenario ${scenario.name}: clients never settled before it started: ${baseline}`);
  const before = await fdCounts(rig);
  const markers: Marker[] = [];
  const faults: Omit<Fault, 'causeAt'>[] = [];
  const ipOwners: ScenarioRecord['ipOwners'] = [];
  const mccdDown: ScenarioRecord['mccdDown'] = [];
  const stepProblems: string[] = [];
  const checks: NonNullable<ScenarioRecord['checks']> = [];
  const findings: NonNullable<ScenarioRecord['findings']> = [];
  const ctx: StepContext = {
    finding(label, detail) {
      findings.push({ at: Date.now(), label, detail });
      progress(`  finding: ${label}: ${detail}`);
    },
    mark(label, node) {
      const at = Date.now();
      markers.push({ at, kind: 'action', label, ...(node === undefined ? {} : { node }) });
      progress(`  ${label}`);
      return at;
    },
    fault(f) {
      faults.push(f);
    },
    mccdDown(node, from, to) {
      mccdDown.push({ node, from, to });
    },
    problem(message) {
      stepProblems.push(message);
      progress(`  ✗ ${message}`);
    },
    check(label, ok, detail) {
      checks.push({ at: Date.now(), label, ok, detail });
      if (!ok) progress(`  ✗ ${label}: ${detail}`);
    },
    async owners() {
      const owners = await waitFor('`ctdb ip` from the leader outside recovery', 20_000, () =>
        rig.cluster.settledIpOwners(),
      );
      ipOwners.push({ at: Date.now(), owners });
      return owners;
    },
    progress: (line) => progress(`  ${line}`),
  };
  await ctx.owners();
  const startAt = Date.now();
  const truth = pollOwners(ctx);
  let settleNote: string | undefined;
  try {
    for (const [i, step] of scenario.steps.entries()) {
      progress(`scenario ${scenario.name}: step ${i + 1}/${scenario.steps.length}: ${describeStep(step)}`);
      await performStep(rig, step, ctx);
    }
    progress(`scenario ${scenario.name}: settling (up to ${scenario.settleTimeoutMs / 1000} s)`);
    settleNote = await settle(rig, scenario.settleTimeoutMs);
  } finally {
    await truth.stop();
  }
  await ctx.owners();
  const endAt = Date.now();
  const { placement: finalPlacement, unanswered: unansweredAtEnd } = await rig.observer.placement();
  const after = await fdCounts(rig);
  const fds: FdCount[] = before.map((b, i) => ({
    node: b.node,
    before: b.count,
    after: after[i]?.count,
    grew: growth(b.kinds, after[i]?.kinds),
    samePid: b.pid !== undefined && b.pid === after[i]?.pid,
  }));
  const inWindow = (at: number) => at >= startAt && at <= endAt;
  const actionTimes = markers.map((m) => m.at);
  // An mccd event follows from the harness's action just before it; one long after (a rebalance once a
  // node is back) is its own cause.
  const causeOf = (at: number) => {
    const action = actionTimes.filter((t) => t <= at).at(-1);
    return action !== undefined && at - action <= 2000 ? action : at;
  };
  const observed = rig.observer;
  const record: ScenarioRecord = {
    name: scenario.name,
    description: scenario.description,
    steps: scenario.steps.map(describeStep),
    startAt,
    endAt,
    nodes: rig.cluster.nodes.map((n) => ({ pnn: n.pnn, address: n.address })),
    publicIps: [...rig.cluster.publicIps],
    clients: rig.clients,
    smbclients: rig.smbclients,
    lines: [...rig.lines],
    // The harness's faults, then mccd's claims (judged against `ctdb ip` in truth.ts).
    faults: [...faults, ...observed.faults.filter((f) => inWindow(f.at))]
      .map((f) => ({ ...f, causeAt: faults.includes(f) ? f.at : causeOf(f.at) }))
      .sort((a, b) => a.at - b.at),
    markers: [...markers, ...observed.markers.filter((m) => inWindow(m.at))].sort((a, b) => a.at - b.at),
    samples: observed.samples.filter((s) => s.at >= startAt - 2000 && s.at <= endAt),
    finalPlacement,
    unansweredAtEnd,
    budgets: scenario.budgets,
    publicAnnounced: observed.publicAnnounced.filter((p) => inWindow(p.at)),
    serverInterfaces: rig.profile.backend === 'smbd' ? 'smbtorture-probe' : 'client-fsctl',
    fds,
    settled: settleNote === undefined,
    ...(settleNote ? { settleNote } : {}),
    ...(baseline ? { baselineNote: baseline } : {}),
    ipOwners,
    mccdDown,
    stepProblems,
    checks,
    findings,
  };
  const result = evaluateScenario(record);
  progress(
    `scenario ${scenario.name}: ${result.passed ? 'PASSED' : `FAILED (${result.violations.length} violation(s))`} in ${((endAt - startAt) / 1000).toFixed(1)} s`,
  );
  for (const v of result.violations.slice(0, 10)) progress(`  ✗ ${v.rule}: ${v.message}`);
  return { scenario, record, result };
}

export async function runProfile(
  profile: Profile,
  scenarios: Scenario[],
  progress: (line: string) => void,
  /** Where to keep every node's mccd and ctdbd logs when a scenario fails (the cluster is deleted). */
  logDir?: string,
): Promise<FailoverRun> {
  const startedAt = Date.now();
  const rig = await FailoverRig.start(profile, progress);
  const setupMs = Date.now() - startedAt;
  const runs: ScenarioRun[] = [];
  try {
    for (const scenario of scenarios) runs.push(await runScenario(rig, scenario, progress));
  } finally {
    if (logDir && !runs.every((r) => r.result.passed)) {
      progress(`a scenario failed: keeping every node's logs in ${logDir}`);
      rig.keepLogs(logDir);
    }
    progress('stopping the cluster, mccd, backends and client namespace');
    await rig.stop();
  }
  return {
    profile,
    platform: rig.platform.description,
    ...(rig.platform.smbConf ? { smbConf: rig.platform.smbConf } : {}),
    startedAt,
    setupMs,
    totalMs: Date.now() - startedAt,
    scenarios: runs,
    passed: runs.every((r) => r.result.passed),
  };
}
