import { waitFor } from './netns.js';

/** What every cluster driver knows of a node: its number, fixed address, and ctdbd's pid while it runs. */
export interface CtdbNodeRef {
  pnn: number;
  address: string;
  /** ctdbd's pid (in whatever pid namespace the driver uses), undefined while it is stopped. */
  pid: number | undefined;
}

/**
 * The questions the harness asks a ctdbd cluster through the ctdb CLI, the same whether the nodes are
 * network namespaces (ctdb-cluster.ts) or containers (container-cluster.ts): each driver only says how to
 * run `ctdb` against one node.
 */
export abstract class CtdbQueries<N extends CtdbNodeRef = CtdbNodeRef> {
  abstract readonly nodes: N[];
  abstract readonly publicIps: string[];

  /** Runs the ctdb CLI against one node's ctdbd (test harness only; the daemon speaks the protocol). */
  abstract ctdb(pnn: number, args: string[], timeoutMs?: number): Promise<string>;

  node(pnn: number): N {
    const n = this.nodes[pnn];
    if (!n) throw new Error(`no node ${pnn}`);
    return n;
  }

  firstRunning(): number {
    const n = this.nodes.find((x) => x.pid !== undefined);
    if (!n) throw new Error('no ctdbd is running');
    return n.pnn;
  }

  /** `ctdb -X ip all` as {ip: owner} (owner -1 when unassigned). */
  async ipOwners(pnn = this.firstRunning()): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const line of (await this.ctdb(pnn, ['-X', 'ip', 'all'])).split('\n')) {
      const cols = line.split('|');
      if (cols.length >= 3 && /^[0-9a-f.:]+$/i.test(cols[1] ?? '')) out[cols[1]!] = Number(cols[2]);
    }
    return out;
  }

  /**
   * Where each public IP is as the leader (recovery master) sees it, and only while recovery is normal: a
   * ctdbd that has just restarted answers -1 for every IP until recovery reaches it, and in the middle of a
   * recovery the map is in flux. Throws rather than answer from either, so a ground-truth poll skips it.
   */
  async settledIpOwners(): Promise<Record<string, number>> {
    const leader = await this.leader();
    if (!this.nodes.some((n) => n.pnn === leader && n.pid !== undefined))
      throw new Error(`ctdb leader names node ${leader}, which is not running`);
    if (!(await this.recoveryNormal(leader))) throw new Error(`recovery in progress on node ${leader}`);
    const owners = await this.ipOwners(leader);
    // Right after a partition heals, the node that was alone can still answer as leader with its own
    // map (every IP its own) before the merged cluster's recovery starts: the map counts only when every
    // node that follows the same leader gives the same one. A node cut off by a partition follows
    // itself and is left out: its map is its own and none of the cluster's.
    const wanted = JSON.stringify(sortedEntries(owners));
    for (const n of this.nodes) {
      if (n.pid === undefined || n.pnn === leader) continue;
      if ((await this.leader(n.pnn).catch(() => undefined)) !== leader) continue;
      const seen = JSON.stringify(sortedEntries(await this.ipOwners(n.pnn)));
      if (seen !== wanted) throw new Error(`node ${n.pnn} sees ${seen}, leader ${leader} sees ${wanted}`);
    }
    return owners;
  }

  /** `ctdb -X status` node rows: pnn → all flag columns zero. */
  async nodeStatus(pnn = this.firstRunning()): Promise<{ pnn: number; ok: boolean; flags: number[] }[]> {
    const rows: { pnn: number; ok: boolean; flags: number[] }[] = [];
    for (const line of (await this.ctdb(pnn, ['-X', 'status'])).split('\n')) {
      const cols = line.split('|').slice(1, -1);
      if (cols.length >= 8 && /^\d+$/.test(cols[0]!)) {
        const flags = cols.slice(2, 10).map(Number);
        rows.push({ pnn: Number(cols[0]), ok: flags.every((f) => f === 0), flags });
      }
    }
    return rows;
  }

  async recoveryNormal(pnn = this.firstRunning()): Promise<boolean> {
    return /Recovery mode:NORMAL/.test(await this.ctdb(pnn, ['status']));
  }

  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'every ctdb node OK, recovery NORMAL and every public IP owned',
      timeoutMs,
      async () => {
        const first = this.firstRunning();
        const status = await this.nodeStatus(first);
        if (status.length !== this.nodes.length || !status.every((s) => s.ok)) return undefined;
        if (!(await this.recoveryNormal(first))) return undefined;
        const owners = Object.values(await this.ipOwners(first));
        return owners.length === this.publicIps.length && owners.every((o) => o >= 0) ? true : undefined;
      },
      500,
    );
  }

  /** `ctdb -t 2 moveip` (plain moveip freezes takeover runs for 20 s). */
  async moveIp(ip: string, toPnn: number): Promise<void> {
    await this.ctdb(this.firstRunning(), ['-t', '2', 'moveip', ip, String(toPnn)]);
  }

  /** The pnn `ctdb leader` names (the recovery master). */
  async leader(pnn = this.firstRunning()): Promise<number> {
    const out = (await this.ctdb(pnn, ['leader'])).trim();
    const leader = Number(out);
    if (!Number.isInteger(leader)) throw new Error(`ctdb leader printed ${JSON.stringify(out)}`);
    return leader;
  }
}

function sortedEntries(owners: Record<string, number>): [string, number][] {
  return Object.entries(owners).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
