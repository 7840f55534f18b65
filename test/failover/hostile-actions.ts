import type { LoadReport } from '../../bench/loadgen.js';
import type { StepContext } from './actions.js';
import { clientSide, extraSources, fdCount, startHogs } from './hostile-sides.js';
import type { HostileStep } from './hostile-steps.js';
import type { FailoverRig } from './rig.js';
import type { Step } from './scenario.js';
import { spoofGuid } from './spoof-actions.js';

/**
 * Hostile load against the cluster (issue #23), as failover steps: an idle flood while a public IP
 * moves off the flooded node, a ClientGUID spoofed by someone else, and a connection burst on a node
 * whose CPUs are taken by busy loops. The harness's own assertions judge the clients (who lost channels,
 * teardown and reconnect budgets, fds); each step adds checks that its hostile part really happened.
 */
export interface HostileDeps {
  resolveNode(rig: FailoverRig, ref: number | 'leader' | 'non-leader'): Promise<number>;
  performStep(rig: FailoverRig, step: Step, ctx: StepContext): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function performHostileStep(
  rig: FailoverRig,
  step: HostileStep,
  ctx: StepContext,
  deps: HostileDeps,
): Promise<void> {
  switch (step.action) {
    case 'idle-flood':
      return idleFlood(rig, step, ctx, deps);
    case 'spoof-guid':
      return spoofGuid(rig, step, ctx);
    case 'starved-burst':
      return starvedBurst(rig, step, ctx, deps);
  }
}

interface FloodReport {
  opened: number;
  closedByServer: number;
  errors: Record<string, number>;
  held: { min: number; median: number; max: number };
}

async function idleFlood(
  rig: FailoverRig,
  step: Extract<HostileStep, { action: 'idle-flood' }>,
  ctx: StepContext,
  deps: HostileDeps,
): Promise<void> {
  const node = await deps.resolveNode(rig, step.node);
  const held = Object.entries(await ctx.owners())
    .filter(([, owner]) => owner === node)
    .map(([a]) => a)
    .sort();
  if (!held[0]) throw new Error(`node ${node} holds no public IP`);
  const target = step.target === 'fixed' ? rig.cluster.node(node).address : held[0];
  const side = clientSide(rig);
  const sources = extraSources(side, step.sources);
  for (const a of sources) await side.address_('add', a);
  const m = rig.mccd(node);
  const pid = m.mccdPid();
  const fds: number[] = [];
  const sampler = setInterval(() => {
    const n = fdCount(m.mccdPid());
    if (n !== undefined) fds.push(n);
  }, 500);
  try {
    ctx.mark(`idle flood: ${step.connections} connections to ${target} (node ${node})`, node);
    const flooding = side.node(
      'bench/idle-flood-child.js',
      [
        JSON.stringify({
          host: target,
          port: 445,
          sources,
          perSource: Math.ceil(step.connections / sources.length),
          durationMs: step.durationMs,
        }),
      ],
      step.durationMs + 30_000,
      // The attacker holds one fd per connection: its own limit is raised to fit.
      ['prlimit', `--nofile=${step.connections + 1024}:${step.connections + 1024}`],
    );
    if (step.moveipAfterMs !== undefined) {
      await sleep(step.moveipAfterMs);
      await deps.performStep(rig, { action: 'moveip', ip: 0, heldBy: node, to: 'next' }, ctx);
    }
    const ran = await flooding;
    ctx.mark('idle flood ended', node);
    const report =
      ran.code === 0 ? (JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as FloodReport) : undefined;
    const samePid = pid !== undefined && m.mccdPid() === pid && fdCount(pid) !== undefined;
    const seconds = step.durationMs / 1000;
    const detail = report
      ? `${report.opened} connections opened (${Math.round(report.opened / seconds)}/s), ${report.held.median} held (median; lowest ${report.held.min}), mccd's fds at most ${Math.max(0, ...fds)}`
      : `the flooder failed (exit ${ran.code}): ${ran.stderr.trim().slice(-300)}`;
    ctx.progress(`idle flood against ${target}: ${detail}`);
    // Without a real flood the scenario would pass for nothing: the flood must have held most of its
    // connections and re-opened them, and mccd on the node must be the same process afterwards.
    ctx.check(
      `idle flood of ${step.connections} against node ${node} (${target}) held`,
      report !== undefined &&
        report.held.median >= step.connections * 0.5 &&
        report.opened > step.connections,
      detail,
    );
    ctx.check(
      `mccd on node ${node} up through the idle flood`,
      samePid,
      samePid
        ? `pid ${pid}, fds at most ${Math.max(0, ...fds)}`
        : `mccd's pid was ${pid}, now ${m.mccdPid()}`,
    );
  } finally {
    clearInterval(sampler);
    for (const a of sources) await side.address_('del', a).catch(() => undefined);
  }
}

async function starvedBurst(
  rig: FailoverRig,
  step: Extract<HostileStep, { action: 'starved-burst' }>,
  ctx: StepContext,
  deps: HostileDeps,
): Promise<void> {
  const node = await deps.resolveNode(rig, step.node);
  const server = rig.cluster.node(node).address;
  const hogs = await startHogs(rig, node, step.hogBoundMs);
  ctx.mark(`busy loops pinned to CPU(s) ${hogs.cpus.join(',')} beside mccd on node ${node}`, node);
  let report: LoadReport | undefined;
  let failure = '';
  try {
    await sleep(1000);
    ctx.mark(`burst of ${step.connections} connections to node ${node}`, node);
    const ran = await clientSide(rig).node(
      'bench/loadgen-child.js',
      [JSON.stringify({ host: server, port: 445, mode: 'burst', count: step.connections })],
      60_000,
      ['prlimit', `--nofile=${step.connections + 1024}:${step.connections + 1024}`],
    );
    if (ran.code === 0) report = JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as LoadReport;
    else failure = `the burst failed (exit ${ran.code}): ${ran.stderr.trim().slice(-300)}`;
  } finally {
    const { left } = await hogs.kill();
    ctx.mark(`busy loops killed on node ${node}`, node);
    ctx.check(
      `the ${hogs.pids.length} busy loop(s) on node ${node} ended when killed by pid`,
      left === 0,
      `${left} left`,
    );
  }
  const detail = report
    ? `${report.ok} of ${step.connections} answered in ${report.seconds.toFixed(2)} s, p50 ${report.p50Ms.toFixed(0)} ms, p99 ${report.p99Ms.toFixed(0)} ms${report.errors ? `, errors ${JSON.stringify(report.errorKinds)}` : ''}`
    : failure;
  ctx.progress(`starved burst: ${detail}`);
  ctx.check(
    `burst of ${step.connections} to node ${node} with its CPUs taken served`,
    report !== undefined && report.ok === step.connections,
    detail,
  );
}
