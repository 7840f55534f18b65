import { randomUUID } from 'node:crypto';
import type { Probe } from '../harness/cluster-mccd.js';
import { waitFor } from '../harness/netns.js';
import { durableAcrossMoveip } from './durable-actions.js';
import { performHostileStep } from './hostile-actions.js';
import type { Fault } from './record.js';
import type { FailoverRig } from './rig.js';
import type { Step } from './scenario.js';
import { killSmbdHoldingFile, notifyAcrossNodes, shareModeAcrossNodes, statusOf } from './share-actions.js';

/** What a step tells the run: action markers (for the plot, and as causes) and the faults it makes. */
export interface StepContext {
  /** Records an action marker now and returns its time. */
  mark(label: string, node?: number): number;
  fault(f: Omit<Fault, 'causeAt'>): void;
  /** The harness had mccd on `node` down from `from` until it answered again at `to`. */
  mccdDown(node: number, from: number, to: number): void;
  /** Something the step itself found wrong: judged as a violation of the scenario. */
  problem(message: string): void;
  /** Where each public IP is (also recorded, for attributing smbclient sessions). */
  owners(): Promise<Record<string, number>>;
  /** A check the harness made itself (a fresh connection served or not); a failed one is a violation. */
  check(label: string, ok: boolean, detail: string): void;
  /** Something found out and recorded as it is, neither pass nor fail. */
  finding(label: string, detail: string): void;
  progress(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Marks the action and records a fault of the whole node (every client there is concerned). */
function nodeFault(
  ctx: StepContext,
  pnn: number,
  action: string,
  label: string,
  clientDetected = false,
  isolates = false,
): void {
  const at = ctx.mark(action, pnn);
  ctx.fault({
    at,
    node: pnn,
    scope: { kind: 'node' },
    clientDetected,
    label,
    source: 'harness',
    ...(isolates ? { isolates } : {}),
  });
}

/** The simulated clients whose current channels (as each last reported being bound) include one of `locals`. */
function clientsWithChannelsFrom(rig: FailoverRig, locals: string[]): string[] {
  const current = new Map<string, string[]>();
  for (const l of rig.lines) {
    if (l.kind !== 'client') continue;
    if (l.event === 'bound')
      current.set(
        l.id,
        l.channels.map((c) => c.local),
      );
    else if (l.event === 'torn-down') current.delete(l.id);
  }
  return rig.clients
    .filter((c) => (current.get(c.id) ?? []).some((local) => locals.includes(local)))
    .map((c) => c.guid);
}

async function resolveNode(rig: FailoverRig, ref: number | 'leader' | 'non-leader'): Promise<number> {
  if (typeof ref === 'number') {
    if (ref >= rig.cluster.nodes.length)
      throw new Error(`scenario names node ${ref}, the cluster has ${rig.cluster.nodes.length}`);
    return ref;
  }
  const leader = await rig.cluster.leader();
  if (ref === 'leader') return leader;
  const other = rig.cluster.nodes.find((n) => n.pnn !== leader && n.pid !== undefined);
  if (!other) throw new Error('no running node other than the leader');
  return other.pnn;
}

export async function moveOne(
  rig: FailoverRig,
  ctx: StepContext,
  ip: string,
  to: number | 'next',
): Promise<void> {
  const owners = await ctx.owners();
  const from = owners[ip];
  if (from === undefined || from < 0) throw new Error(`public IP ${ip} has no owner`);
  const target = to === 'next' ? (from + 1) % rig.cluster.nodes.length : to;
  if (target === from) {
    ctx.progress(`${ip} is already on node ${target}`);
    return;
  }
  const at = ctx.mark(`moveip ${ip} ${from}→${target}`, from);
  ctx.fault({
    at,
    node: from,
    scope: { kind: 'ip', ip },
    clientDetected: false,
    label: `moveip of ${ip} off node ${from}`,
    source: 'harness',
  });
  await rig.cluster.moveIp(ip, target);
}

export async function waitHealthy(rig: FailoverRig, ctx: StepContext, timeoutMs = 120_000): Promise<void> {
  ctx.progress('waiting for every ctdb node to be OK with every public IP owned');
  await rig.cluster.waitHealthy(timeoutMs);
}

/**
 * kill -9 (down for `downMs`) or SIGTERM (back at once) of mccd, optionally with a new client (`mcc
 * probe`) connecting to the node while mccd is down: it must be answered once mccd is back.
 */
async function restartMccd(
  rig: FailoverRig,
  ctx: StepContext,
  pnn: number,
  how: { signal: 'SIGKILL' | 'SIGTERM'; downMs: number; probe: boolean },
): Promise<void> {
  const m = rig.mccd(pnn);
  const downAt = Date.now();
  // A client connecting while mccd is down: `mcc probe` on the clients' side (namespace or container).
  const probeOn = () => rig.platform.startProbe(randomUUID(), [rig.cluster.node(pnn).address]);
  let probe: Probe | undefined;
  if (how.signal === 'SIGKILL') {
    ctx.mark(`kill -9 mccd on node ${pnn}`, pnn);
    await m.kill9Mccd();
    if (how.probe) probe = probeOn();
    await sleep(how.downMs);
    ctx.mark(`mccd started on node ${pnn}`, pnn);
    await m.startProcesses();
  } else {
    ctx.mark(`SIGTERM restart of mccd on node ${pnn}`, pnn);
    const restarting = m.restart();
    if (how.probe) probe = probeOn();
    await restarting;
  }
  const upAt = Date.now();
  ctx.mccdDown(pnn, downAt, upAt);
  if (!probe) return;
  try {
    await waitFor('the client that connected during the restart negotiated', 10_000, () =>
      probe.negotiated() > 0 ? true : undefined,
    );
    const answered = probe.events.find((e) => e.event === 'negotiated')!.at;
    // From the new mccd's exec: node's start-up, the restore and the reconcile, nothing of the old one.
    const startedAt = m.startedAt();
    const sinceStart =
      startedAt === undefined ? '' : `, ${Math.round(answered - startedAt)} ms after the new mccd started`;
    ctx.progress(
      `a client that connected while mccd was down was served ${answered - downAt} ms after mccd went down${sinceStart} (mccd was reported up after ${upAt - downAt} ms)`,
    );
  } catch {
    ctx.problem(
      `node ${pnn}: a client connecting while mccd restarted was not served within 10 s of mccd being back (${probe.closed()} close(s): refused rather than queued?)`,
    );
  } finally {
    await probe.stop();
  }
}

export async function performStep(rig: FailoverRig, step: Step, ctx: StepContext): Promise<void> {
  const { cluster } = rig;
  switch (step.action) {
    case 'moveip': {
      let ip = typeof step.ip === 'number' ? cluster.publicIps[step.ip % cluster.publicIps.length]! : step.ip;
      if (step.heldBy !== undefined) {
        const pnn = await resolveNode(rig, step.heldBy);
        const held = Object.entries(await ctx.owners()).filter(([, owner]) => owner === pnn);
        if (held.length === 0) throw new Error(`node ${pnn} holds no public IP to move`);
        ip = held.map(([a]) => a).sort()[0]!;
      }
      await moveOne(rig, ctx, ip, step.to);
      return;
    }
    case 'moveip-burst': {
      for (let i = 0; i < step.count; i++) {
        await moveOne(rig, ctx, cluster.publicIps[i % cluster.publicIps.length]!, 'next');
        if (step.intervalMs) await sleep(step.intervalMs);
      }
      return;
    }
    case 'disable':
    case 'enable':
    case 'stop':
    case 'continue': {
      const pnn = await resolveNode(rig, step.node);
      const held = Object.entries(await ctx.owners())
        .filter(([, owner]) => owner === pnn)
        .map(([ip]) => ip);
      const at = ctx.mark(`ctdb ${step.action} node ${pnn}`, pnn);
      // disable and stop take every IP the node held (per `ctdb ip` just now) away from it.
      if (step.action === 'disable' || step.action === 'stop')
        for (const ip of held)
          ctx.fault({
            at,
            node: pnn,
            scope: { kind: 'ip', ip },
            clientDetected: false,
            label: `ctdb ${step.action} of node ${pnn} (held ${ip})`,
            source: 'harness',
          });
      await cluster.ctdb(cluster.firstRunning(), ['-n', String(pnn), step.action]);
      if (step.action === 'disable' || step.action === 'stop') {
        await waitFor(`node ${pnn} to hold no public IP`, 30_000, async () =>
          Object.values(await ctx.owners()).includes(pnn) ? undefined : true,
        );
      } else {
        await waitHealthy(rig, ctx);
      }
      return;
    }
    case 'kill-ctdbd': {
      const pnn = await resolveNode(rig, step.node);
      nodeFault(ctx, pnn, `kill -9 ctdbd on node ${pnn}`, `kill -9 of ctdbd on node ${pnn}`);
      await cluster.kill9(pnn);
      await sleep(step.restartAfterMs);
      ctx.mark(`ctdbd started on node ${pnn}`, pnn);
      await cluster.restart(pnn);
      await waitHealthy(rig, ctx);
      return;
    }
    case 'kill-mccd':
    case 'restart-mccd': {
      // Not a fault: behind the held front door and with its state file, a restarted mccd takes every
      // client back, so a client losing a channel to it is a violation (docs/restart.md).
      const pnn = await resolveNode(rig, step.node);
      const how =
        step.action === 'kill-mccd'
          ? { signal: 'SIGKILL' as const, downMs: step.restartAfterMs, probe: false }
          : step;
      await restartMccd(rig, ctx, pnn, how);
      return;
    }
    case 'kill-backend': {
      const pnn = await resolveNode(rig, step.node);
      const m = rig.mccd(pnn);
      if (m.backend === 'worker' && m.kill9Worker && m.startWorker) {
        nodeFault(ctx, pnn, `kill -9 worker on node ${pnn}`, `kill -9 of the worker on node ${pnn}`);
        await m.kill9Worker();
        await sleep(step.restartAfterMs);
        ctx.mark(`worker started on node ${pnn}`, pnn);
        await m.startWorker();
        return;
      }
      const serving = [...(await m.smbdServing()).entries()].sort((a, b) => b[1].length - a[1].length);
      const victim = serving[0];
      if (!victim) throw new Error(`no smbd on node ${pnn} holds a client connection`);
      const [pid, peers] = victim;
      // Which clients the killed smbd served: its sockets' peers (ss) matched against the clients' own
      // record of their channels, not against mccd's /v1/channels.
      const guids = clientsWithChannelsFrom(rig, peers);
      const at = ctx.mark(`kill -9 smbd ${pid} on node ${pnn} (${peers.length} channel(s))`, pnn);
      ctx.fault({
        at,
        node: pnn,
        scope: { kind: 'clients', guids },
        clientDetected: false,
        label: `kill -9 of smbd ${pid} on node ${pnn}`,
        source: 'harness',
      });
      await m.killSmbd(pid);
      return;
    }
    case 'rolling-restart': {
      for (const node of cluster.nodes) {
        const pnn = node.pnn;
        nodeFault(ctx, pnn, `ctdbd stopped on node ${pnn}`, `ctdbd stop on node ${pnn}`);
        await cluster.stopNode(pnn);
        ctx.mark(`ctdbd started on node ${pnn}`, pnn);
        await cluster.restart(pnn);
        await waitHealthy(rig, ctx);
        // The mccd restart is not a fault: its clients are taken back (docs/restart.md).
        ctx.mark(`mccd restarted on node ${pnn}`, pnn);
        const stoppedAt = Date.now();
        await rig.mccd(pnn).restart();
        ctx.mccdDown(pnn, stoppedAt, Date.now());
      }
      return;
    }
    case 'partition': {
      const pnn = await resolveNode(rig, step.node);
      nodeFault(ctx, pnn, `node ${pnn} partitioned (link down)`, `partition of node ${pnn}`, true, true);
      await cluster.setLink(pnn, false);
      await sleep(step.durationMs);
      // Whatever the isolated node did meanwhile (it was alone, so it hosted every IP) ends at the heal.
      nodeFault(ctx, pnn, `node ${pnn} link up`, `heal of node ${pnn}`, false, true);
      await cluster.setLink(pnn, true);
      await waitHealthy(rig, ctx);
      return;
    }
    case 'restart-ctdbd': {
      const pnn = await resolveNode(rig, step.node);
      nodeFault(ctx, pnn, `ctdbd stopped on node ${pnn}`, `ctdbd restart on node ${pnn}`);
      await cluster.stopNode(pnn);
      await sleep(step.restartAfterMs);
      ctx.mark(`ctdbd started on node ${pnn}`, pnn);
      await cluster.restart(pnn);
      await waitHealthy(rig, ctx);
      // mccd reconnects to the new ctdbd by itself; the connections after that are what is checked.
      await waitFor(`mccd on node ${pnn} connected to the restarted ctdbd`, 30_000, async () =>
        (await rig.observer.clusterConnected(pnn)) ? true : undefined,
      );
      return;
    }
    case 'connect-check': {
      const pnn = await resolveNode(rig, step.node);
      const server = cluster.node(pnn).address;
      ctx.progress(`${step.count} fresh smbclient connections to node ${pnn} (${server}), one after another`);
      for (let i = 0; i < step.count; i++) {
        const { ok, output } = await rig.platform.smbclientLs(server);
        ctx.check(
          `smbclient ${i + 1}/${step.count} to node ${pnn} (${server})`,
          ok,
          ok ? 'listed the share' : statusOf(output),
        );
      }
      return;
    }
    case 'share-mode':
    case 'kill-smbd-holding-file': {
      const check = step.action === 'share-mode' ? shareModeAcrossNodes : killSmbdHoldingFile;
      await check(rig, ctx, await resolveNode(rig, step.holder), await resolveNode(rig, step.other));
      return;
    }
    case 'notify':
      await notifyAcrossNodes(
        rig,
        ctx,
        await resolveNode(rig, step.watcher),
        await resolveNode(rig, step.changer),
        step.delayMs,
      );
      return;
    case 'durable-moveip':
      await durableAcrossMoveip(rig, ctx, step.ip, step.lease);
      return;
    case 'wait':
      await sleep(step.ms);
      return;
    case 'idle-flood':
    case 'spoof-guid':
    case 'starved-burst':
      return performHostileStep(rig, step, ctx, { resolveNode, performStep });
  }
}
