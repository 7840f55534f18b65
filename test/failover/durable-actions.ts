import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { lineSplitter, waitFor } from '../harness/netns.js';
import { projectRoot } from '../helpers/reference.js';
import { moveOne, type StepContext, waitHealthy } from './actions.js';
import type { FailoverRig } from './rig.js';
import { shareOf, statusOf } from './share-actions.js';

/**
 * A durable handle across a moveip: a client (the project's SMB2 durable probe, in the client container)
 * opens a file through a public IP with a durable v2 request, the IP moves to another node, and the same
 * client reconnects the handle through the same IP, now served by the new node. What Samba 4.17 does
 * then is recorded as it is (a finding); what mccd must do is checked: the durable open goes through,
 * and the holder's connection is torn down by the move like every channel on a released IP.
 */

const PROBE = join(projectRoot, 'dist/test/harness/smb2/durable-probe.js');

interface ProbeLine {
  event: string;
  durable?: boolean;
  timeoutMs?: number;
  fileId?: string;
  createGuid?: string;
  status?: string;
  reason?: string;
  leaseKey?: string;
  leaseState?: number;
}

/** One client, as Windows is: the reconnect comes with the ClientGUID the open had. */
function probeArgv(
  rig: FailoverRig,
  command: 'open' | 'reconnect',
  server: string,
  file: string,
  clientGuid: string,
): string[] {
  return [
    '/usr/local/bin/node',
    PROBE,
    command,
    '--server',
    server,
    '--share',
    'share',
    '--user',
    'root',
    '--password',
    rig.platform.smbPassword,
    '--file',
    file,
    '--client-guid',
    clientGuid,
  ];
}

/** Collects the probe's JSON lines. */
function follow(child: ChildProcess): { lines: ProbeLine[]; stderr: () => string } {
  const lines: ProbeLine[] = [];
  let stderr = '';
  child.stdout?.on(
    'data',
    lineSplitter((line) => {
      if (!line.trim()) return;
      try {
        lines.push(JSON.parse(line) as ProbeLine);
      } catch {
        lines.push({ event: 'unparsed', reason: line.slice(0, 200) });
      }
    }),
  );
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return { lines, stderr: () => stderr.trim().slice(-300) };
}

function first(lines: ProbeLine[], events: string[]): ProbeLine | undefined {
  return lines.find((l) => events.includes(l.event));
}

/**
 * `lease`: the open holds an RWH lease instead of a batch oplock (smbd 4.17 gives a leased durable handle
 * back only to the ClientGUID that opened it; the reconnect here comes with it, as Windows does).
 */
export async function durableAcrossMoveip(
  rig: FailoverRig,
  ctx: StepContext,
  ipIndex: number,
  lease: boolean,
): Promise<void> {
  const share = shareOf(rig, ctx, 'durable-moveip');
  if (!share) return;
  const ip = rig.cluster.publicIps[ipIndex % rig.cluster.publicIps.length]!;
  const from = (await ctx.owners())[ip];
  if (from === undefined || from < 0) throw new Error(`public IP ${ip} has no owner`);
  const to = (from + 1) % rig.cluster.nodes.length;
  const file = `durable-${lease ? 'lease' : 'oplock'}-${Date.now()}.txt`;
  const holding = lease ? 'an RWH lease' : 'a batch oplock';
  const clientGuid = randomUUID();
  // ECHO every 250 ms, as the simulated clients do: a path that died silently is noticed too.
  const holder = share.runOnClient([
    ...probeArgv(rig, 'open', ip, file, clientGuid),
    '--echo-ms',
    '250',
    ...(lease ? ['--lease'] : []),
  ]);
  const held = follow(holder);
  try {
    const opened = await waitFor('the durable probe to open its file', 30_000, () =>
      first(held.lines, ['opened', 'error']),
    ).catch(() => undefined);
    if (opened?.event !== 'opened') {
      ctx.check(
        `durable open of ${file} through ${ip}`,
        false,
        opened ? `${opened.status ?? opened.reason ?? 'error'}` : `no answer in 30 s: ${held.stderr()}`,
      );
      return;
    }
    ctx.check(
      `durable v2 handle with ${holding} granted for ${file} through ${ip} (node ${from})`,
      opened.durable === true,
      opened.durable ? `granted, timeout ${opened.timeoutMs} ms` : 'smbd granted no durable handle',
    );
    if (!opened.durable) return;
    await moveOne(rig, ctx, ip, to);
    await waitHealthy(rig, ctx);
    const closed = await waitFor("the durable holder's connection to end", 15_000, () =>
      first(held.lines, ['closed']),
    ).catch(() => undefined);
    ctx.check(
      `the durable holder's connection through ${ip} was torn down by the move`,
      closed !== undefined,
      closed ? `closed (${closed.reason ?? 'reset'})` : 'still open 15 s after the move',
    );
    const reconnect = share.runOnClient([
      ...probeArgv(rig, 'reconnect', ip, file, clientGuid),
      '--file-id',
      opened.fileId ?? '',
      '--create-guid',
      opened.createGuid ?? '',
      ...(opened.leaseKey ? ['--lease-key', opened.leaseKey] : []),
    ]);
    const again = follow(reconnect);
    const answer = await waitFor('the durable reconnect to answer', 30_000, () =>
      first(again.lines, ['reconnected', 'reconnect-failed', 'error']),
    ).catch(() => undefined);
    ctx.mark(`durable reconnect of ${file} through ${ip} (now node ${to})`, to);
    ctx.finding(
      `Samba 4.17's answer to a durable v2 reconnect (${holding}) through ${ip} after it moved from node ${from} to node ${to}`,
      answer === undefined
        ? `no answer in 30 s: ${again.stderr()}`
        : answer.event === 'reconnected'
          ? 'reconnected: the new node gave the handle back'
          : `refused with ${answer.status ?? answer.reason ?? answer.event}: the client must open the file anew`,
    );
    await share.stopOnClient(`durable-probe.js reconnect`);
    // And whether the file is usable at once through the new node, or held until the handle times out.
    const del = await share.batch(ip, `del ${file}`);
    ctx.finding(
      `a delete of ${file} through ${ip} (node ${to}) right after`,
      del.ok ? 'deleted' : statusOf(del.output),
    );
  } finally {
    await share.stopOnClient(`durable-probe.js open`);
  }
}
