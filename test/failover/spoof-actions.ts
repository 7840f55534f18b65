import { apiGet } from '../../cli/api-client.js';
import type { ChannelRow } from '../../coordinator/coordinator.js';
import type { StepContext } from './actions.js';
import { nodeOfBound } from './assertions.js';
import { clientSide, extraSources } from './hostile-sides.js';
import type { HostileStep } from './hostile-steps.js';
import type { FailoverRig } from './rig.js';

/**
 * The spoof-guid step (issue #23): NEGOTIATEs with a simulated client's ClientGUID, from an address of
 * the attacker's own, closed in order. Judged here is what mccd controls: it takes every spoofed channel
 * (no refusal smbd would not make), lists each under the victim's GUID with the attacker's address (a
 * stranger among a client's channels is seen), and tears nothing down itself unless Samba's cluster-wide
 * claim says so. What smbd then does to the victim is judged by the harness's rules where smbd keeps
 * mcc's promise (a close ends that channel only) and recorded as a finding where smbd 4.17 does not:
 * smb2_server.c's smbd_server_connection_terminate_ex disconnects every connection of a client when one
 * on a CTDB public IP (has_cluster_movable_ip) ends, whoever opened it.
 */
interface SpoofReport {
  answered: number;
  statuses: Record<string, number>;
  failed: Record<string, number>;
  closedByServer: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls one mccd's channel list while the spoof runs: the most spoofed channels it listed at once. */
function watchListed(apiSocket: string, guid: string, spoofer: string): { stop(): Promise<number> } {
  let running = true;
  let most = 0;
  const loop = (async () => {
    while (running) {
      const rows = await apiGet<ChannelRow[]>({ socketPath: apiSocket }, '/v1/channels', 2000).catch(
        () => [],
      );
      most = Math.max(most, rows.filter((r) => r.clientGuid === guid && r.clientIp === spoofer).length);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return most;
    },
  };
}

export async function spoofGuid(
  rig: FailoverRig,
  step: Extract<HostileStep, { action: 'spoof-guid' }>,
  ctx: StepContext,
): Promise<void> {
  const victim = rig.clients[step.victim % rig.clients.length]!;
  const bound = rig.lines
    .filter((l) => l.kind === 'client' && l.id === victim.id && l.event === 'bound')
    .at(-1);
  if (bound?.kind !== 'client' || bound.event !== 'bound')
    throw new Error(`client ${victim.id} has never been bound`);
  const nodes = rig.cluster.nodes.map((n) => ({ pnn: n.pnn, address: n.address }));
  const victimNode = nodeOfBound(bound, { nodes, publicIps: [...rig.cluster.publicIps] });
  if (victimNode === undefined) throw new Error(`client ${victim.id}'s node is unknown`);
  const other = nodes.find((n) => n.pnn !== victimNode)!;
  const target = step.where === 'other-node' ? other : nodes.find((n) => n.pnn === victimNode)!;
  const server = step.where === 'same-node' ? victim.publicIp : target.address;
  const claims = step.where === 'other-node' && step.dialect !== '2.0.2';
  const side = clientSide(rig);
  const [source] = extraSources(side, 1, 240);
  await side.address_('add', source!);
  try {
    const at = ctx.mark(
      `spoofed GUID of ${victim.id} (on node ${victimNode}): SMB ${step.dialect} to ${server}`,
      target.pnn,
    );
    // Samba's own rule (smbXsrv_client.c): an SMB 2.1+ NEGOTIATE with a ClientGUID on another node
    // drops the client where it is. mccd applies it too (its claim), so it is judged as any fault.
    if (claims)
      ctx.fault({
        at,
        node: victimNode,
        scope: { kind: 'clients', guids: [victim.guid] },
        clientDetected: false,
        label: `SMB 3 NEGOTIATE with ${victim.id}'s ClientGUID on node ${other.pnn} (Samba's cluster-wide claim)`,
        source: 'harness',
      });
    if (step.where === 'same-node')
      ctx.fault({
        at,
        node: victimNode,
        scope: { kind: 'clients', guids: [victim.guid] },
        clientDetected: false,
        backendRule: true,
        label: `spoofed connections with ${victim.id}'s ClientGUID on its public IP, closed (smbd 4.17 ends a client when a connection of its on a public IP ends)`,
        source: 'harness',
      });
    const listed = watchListed(rig.mccd(target.pnn).apiSocket, victim.guid, source!);
    let mostListed = 0;
    let ran: Awaited<ReturnType<ReturnType<typeof clientSide>['node']>>;
    try {
      ran = await side.node(
        'test/failover/spoof-child.js',
        [
          JSON.stringify({
            server,
            port: 445,
            guid: victim.guid,
            dialect: step.dialect,
            connections: step.connections,
            holdMs: step.holdMs,
            localAddress: source,
          }),
        ],
        step.holdMs + 30_000,
      );
    } finally {
      mostListed = await listed.stop();
    }
    const report =
      ran.code === 0 ? (JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as SpoofReport) : undefined;
    const detail = report
      ? `${report.answered} of ${step.connections} answered (${Object.entries(report.statuses)
          .map(([s, n]) => `${s}: ${n}`)
          .join(
            ', ',
          )}), ${report.closedByServer} closed by the server${Object.keys(report.failed).length ? `, failed: ${JSON.stringify(report.failed)}` : ''}`
      : `the spoofer failed (exit ${ran.code}): ${ran.stderr.trim().slice(-300)}`;
    ctx.progress(`spoofer: ${detail}`);
    // A spoof nobody answered proves nothing about the victim; a refused one would be a refusal smbd
    // itself does not make (it takes any number of connections per ClientGUID).
    ctx.check(
      `spoofed NEGOTIATE(s) with ${victim.id}'s GUID answered by ${server}`,
      report !== undefined && report.answered === step.connections,
      detail,
    );
    // A claiming spoof's channel lives only until the victim's reconnect claims the GUID back (tens of
    // ms), too short for a poll to be sure to see it: listed is judged where the spoof is held.
    if (!claims)
      ctx.check(
        `node ${target.pnn}'s mccd listed the spoofed channel(s) under ${victim.id}'s GUID with the spoofer's address ${source}`,
        mostListed === step.connections,
        `at most ${mostListed} of ${step.connections} listed at once`,
      );
    // mccd asks ctdbd 2 s after a channel on a public IP closed whether it still holds the IP: give
    // whatever the spoof sets off time to happen inside the scenario.
    await sleep(4000);
    const ownTeardowns = rig.observer.teardowns.filter(
      (t) => t.clientGuid === victim.guid && t.node === victimNode && t.at >= at,
    );
    if (!claims)
      ctx.check(
        `mccd on node ${victimNode} tore nothing of ${victim.id} down itself`,
        ownTeardowns.length === 0,
        ownTeardowns.length === 0
          ? 'no teardown in its event stream'
          : `teardown(s): ${ownTeardowns.map((t) => t.reason).join(', ')}`,
      );
    if (step.where === 'same-node') {
      const lost = rig.lines.find(
        (l) => l.kind === 'client' && l.id === victim.id && l.event === 'torn-down' && l.firstCloseAt >= at,
      );
      ctx.finding(
        `smbd when ${step.connections} spoofed connection(s) with ${victim.id}'s GUID on its public IP close`,
        lost?.kind === 'client' && lost.event === 'torn-down'
          ? `${victim.id} lost ${lost.closed} of ${lost.of} channel(s), the first ${lost.firstCloseAt - at} ms after the spoof began; ${report?.closedByServer ?? '?'} of the spoofed connections were closed by the server before the spoofer closed them (smbd 4.17 disconnects every connection of a client when one on a public IP ends: smbd_server_connection_terminate_ex, has_cluster_movable_ip)`
          : `${victim.id} kept every channel; ${report?.closedByServer ?? '?'} of the spoofed connections were closed by the server`,
      );
    }
  } finally {
    await side.address_('del', source!).catch(() => undefined);
  }
}
