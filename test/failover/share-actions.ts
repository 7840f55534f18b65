import { waitFor } from '../harness/netns.js';
import type { StepContext } from './actions.js';
import type { HeldFile, RigShare } from './platform.js';
import type { FailoverRig } from './rig.js';

/**
 * Steps that judge the share itself across nodes, with real smbclient sessions: what clustered smbd
 * keeps in ctdbd's databases (share modes, change notify) must hold behind mccd on every node, pool or
 * spawn. None of them is a fault: the simulated clients must not notice them.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function shareOf(rig: FailoverRig, ctx: StepContext, action: string): RigShare | undefined {
  const share = rig.platform.share;
  if (!share)
    ctx.problem(
      `${action} needs clustered smbd (the container cluster); this platform runs smbd without clustering`,
    );
  return share;
}

export function statusOf(output: string): string {
  return output.match(/NT_STATUS_[A-Z_]+/)?.[0] ?? (output.trim().slice(-200) || 'no output');
}

/** A file of its own per step, created through `through`. */
async function putFile(share: RigShare, server: string, name: string): Promise<void> {
  const put = await share.batch(server, `put ${share.localFile} ${name}`);
  if (!put.ok) throw new Error(`smbclient put ${name} through ${server}: ${statusOf(put.output)}`);
}

/**
 * A file of its own put through `holder` and held open there by an smbclient session; a delete through
 * `other` meanwhile must be refused with a sharing violation (checked). The caller ends the session.
 */
async function holdWhileOtherIsRefused(
  rig: FailoverRig,
  ctx: StepContext,
  share: RigShare,
  nodes: { holder: number; other: number },
  name: string,
): Promise<{ held: HeldFile; otherIp: string }> {
  const { holder, other } = nodes;
  const [holderIp, otherIp] = [rig.cluster.node(holder).address, rig.cluster.node(other).address];
  await putFile(share, holderIp, name);
  ctx.mark(`${name} held open through node ${holder}`, holder);
  const held = await share.holdOpen(holderIp, name);
  const refused = await share.batch(otherIp, `del ${name}`).catch((error: Error) => {
    held.end();
    throw error;
  });
  ctx.check(
    `delete through node ${other} while node ${holder} holds ${name} open`,
    /NT_STATUS_SHARING_VIOLATION/.test(refused.output),
    `expected NT_STATUS_SHARING_VIOLATION, got ${statusOf(refused.output)}`,
  );
  return { held, otherIp };
}

/** Open through `holder`; a delete through `other` is refused while it is open and allowed once closed. */
export async function shareModeAcrossNodes(
  rig: FailoverRig,
  ctx: StepContext,
  holder: number,
  other: number,
): Promise<void> {
  const share = shareOf(rig, ctx, 'share-mode');
  if (!share) return;
  const name = `share-mode-${holder}-${other}-${Date.now()}.txt`;
  const { held, otherIp } = await holdWhileOtherIsRefused(rig, ctx, share, { holder, other }, name);
  try {
    await held.close();
    ctx.mark(`${name} closed through node ${holder}`, holder);
    const allowed = await share.batch(otherIp, `del ${name}`);
    ctx.check(
      `delete through node ${other} once node ${holder} closed ${name}`,
      allowed.ok,
      allowed.ok ? 'deleted' : statusOf(allowed.output),
    );
  } finally {
    held.end();
  }
}

/**
 * A watcher through `watcher` hears of a file created through `changer`. Samba's notify daemons learn of
 * other nodes' watches from a broadcast each sends about once a second, so the change comes `delayMs`
 * after the watcher's node lists the watch (smbstatus --notify).
 */
export async function notifyAcrossNodes(
  rig: FailoverRig,
  ctx: StepContext,
  watcher: number,
  changer: number,
  delayMs: number,
): Promise<void> {
  const share = shareOf(rig, ctx, 'notify');
  if (!share) return;
  const dir = `notify-${watcher}-${changer}-${Date.now()}`;
  const [watcherIp, changerIp] = [rig.cluster.node(watcher).address, rig.cluster.node(changer).address];
  const mk = await share.batch(changerIp, `mkdir ${dir}`);
  if (!mk.ok) throw new Error(`smbclient mkdir ${dir}: ${statusOf(mk.output)}`);
  const watch = share.watch(watcherIp, dir);
  try {
    await waitFor(`node ${watcher}'s smbstatus --notify to list the watch on ${dir}`, 15_000, async () =>
      (await share.onNode(watcher, 'smbstatus --notify 2>/dev/null || true')).includes(`${share.path}/${dir}`)
        ? true
        : undefined,
    );
    await sleep(delayMs);
    ctx.mark(`file created in ${dir} through node ${changer}`, changer);
    await putFile(share, changerIp, `${dir}/new.txt`);
    const heard = await waitFor(`the notification through node ${watcher}`, 10_000, () =>
      /new\.txt/.test(watch.text()) ? true : undefined,
    ).catch(() => false);
    ctx.check(
      `change notify: watcher through node ${watcher}, file created through node ${changer}`,
      heard,
      heard ? 'notified' : `no notification within 10 s; the watcher printed ${JSON.stringify(watch.text())}`,
    );
  } finally {
    await watch.stop();
  }
}

/** The smbd on `pnn` holding `name` open, from `smbstatus -L` there (pid as the node sees it). */
async function holderPid(share: RigShare, pnn: number, name: string): Promise<number | undefined> {
  const out = await share.onNode(pnn, 'smbstatus -L 2>/dev/null || true');
  for (const line of out.split('\n')) {
    if (!line.includes(name)) continue;
    // Clustered smbstatus prints server ids as vnn:pid (ctdb's vnn is the node number).
    const id = /^\s*(?:(\d+):)?(\d+)\s/.exec(line);
    if (id && (id[1] === undefined || Number(id[1]) === pnn)) return Number(id[2]);
  }
  return undefined;
}

/**
 * kill -9 of the smbd holding a file open through `holder`: a delete through `other` must succeed on its
 * first try (smbd finds the dead holder's share mode by its server id, no timeout to wait out).
 */
export async function killSmbdHoldingFile(
  rig: FailoverRig,
  ctx: StepContext,
  holder: number,
  other: number,
): Promise<void> {
  const share = shareOf(rig, ctx, 'kill-smbd-holding-file');
  if (!share) return;
  const name = `crash-${holder}-${other}-${Date.now()}.txt`;
  const { held, otherIp } = await holdWhileOtherIsRefused(rig, ctx, share, { holder, other }, name);
  try {
    const pid = await holderPid(share, holder, name);
    const serving = await rig.mccd(holder).smbdServing();
    if (pid === undefined || !serving.has(pid)) {
      ctx.problem(
        `node ${holder}: smbstatus -L names ${pid === undefined ? 'no smbd' : `smbd ${pid}, which serves no client connection,`} for ${name}`,
      );
      return;
    }
    ctx.mark(`kill -9 smbd ${pid} holding ${name} on node ${holder}`, holder);
    await rig.mccd(holder).killSmbd(pid);
    const del = await share.batch(otherIp, `del ${name}`);
    ctx.check(
      `delete through node ${other} at once after kill -9 of the holder's smbd`,
      del.ok,
      del.ok ? 'deleted on the first try' : statusOf(del.output),
    );
  } finally {
    held.end();
  }
}
