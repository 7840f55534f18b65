import { expect, it } from 'vitest';
import type { ClusterEvent, ClusterView } from '../../../ctdb/cluster-view.js';

/**
 * The ClusterView contract: the same behaviour from the real ctdbd client and the Redis simulation.
 * `cluster()` is read lazily because clusters start in beforeAll.
 */
export interface ClusterUnderTest {
  views: ClusterView[];
  publicIps: string[];
  owners(): Promise<Record<string, number>>;
  moveIp(ip: string, to: number): Promise<void>;
  crash(pnn: number): Promise<void>;
  restart(pnn: number): Promise<void>;
}

/** Collects events per view from now on. */
export function recordEvents(views: ClusterView[]): { events: ClusterEvent[][]; stop: () => void } {
  const events: ClusterEvent[][] = views.map(() => []);
  const listeners = views.map((v, i) => {
    const l = (e: ClusterEvent) => events[i]!.push(e);
    v.on('event', l);
    return l;
  });
  return {
    events,
    stop: () => {
      for (const [i, v] of views.entries()) v.off('event', listeners[i]!);
    },
  };
}

export async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function clusterViewContract(
  cluster: () => ClusterUnderTest,
  timing: { eventMs: number; restartMs: number },
): void {
  it('each view knows its own pnn and the whole node map', async () => {
    const c = cluster();
    expect(c.views.map((v) => v.pnn)).toEqual(c.views.map((_, i) => i));
    for (const v of c.views) {
      const map = await v.nodeMap();
      expect(map.map((n) => n.pnn)).toEqual(c.views.map((_, i) => i));
      expect(map.every((n) => n.ok)).toBe(true);
    }
  });

  it('reports the union of public IPs with the owners the cluster has', async () => {
    const c = cluster();
    const owners = await c.owners();
    for (const v of c.views) {
      const ips = await v.publicIps();
      expect(Object.fromEntries(ips.map((i) => [i.address, i.owner]))).toEqual(owners);
    }
    expect(Object.keys(owners).sort()).toEqual([...c.publicIps].sort());
  });

  it('a moved IP is released on the old owner and taken on the new one', async () => {
    const c = cluster();
    const owners = await c.owners();
    const ip = c.publicIps[0]!;
    const from = owners[ip]!;
    const to = (from + 1) % c.views.length;
    const rec = recordEvents(c.views);
    await c.moveIp(ip, to);
    await until(
      `RELEASE_IP ${ip} on ${from} and TAKE_IP on ${to}`,
      timing.eventMs,
      () =>
        rec.events[from]!.some((e) => e.type === 'ip-released' && e.ip === ip) &&
        rec.events[to]!.some((e) => e.type === 'ip-taken' && e.ip === ip),
    );
    rec.stop();
    // The takeover run a move triggers may also rebalance other IPs (ctdbd's LCP2 does), so the other
    // nodes may see events for other addresses; for this one they see none, and every event any node saw
    // must agree with where the cluster says each IP ended up.
    const others = c.views.map((_, i) => i).filter((i) => i !== from && i !== to);
    for (const i of others)
      expect(
        rec.events[i]!.filter((e) => (e.type === 'ip-released' || e.type === 'ip-taken') && e.ip === ip),
      ).toEqual([]);
    const final = await c.owners();
    for (const [i, events] of rec.events.entries()) {
      const lastByIp = new Map<string, string>();
      for (const e of events)
        if (e.type === 'ip-released' || e.type === 'ip-taken') lastByIp.set(e.ip, e.type);
      for (const [address, last] of lastByIp) {
        const owner = final[address];
        const agrees = last === 'ip-taken' ? owner === i : owner !== i;
        expect({ node: i, address, last, owner, agrees }).toMatchObject({ agrees: true });
      }
    }
    const after = await c.views[to]!.publicIps();
    expect(after.find((p) => p.address === ip)?.owner).toBe(to);
  });

  it('a message on the mcc srvid reaches exactly the node it was sent to, and a broadcast reaches all', async () => {
    const c = cluster();
    const got: string[][] = c.views.map(() => []);
    const listeners = c.views.map((v, i) => {
      const l = (m: Uint8Array) => got[i]!.push(Buffer.from(m).toString());
      v.on('message', l);
      return l;
    });
    const last = c.views.length - 1;
    await c.views[0]!.sendToNode(last, Buffer.from('drop 2acaa38d-f1d3-40c2-94e8-17bc98f2b571'));
    await until('message at the last node', timing.eventMs, () => got[last]!.length === 1);
    await c.views[1]!.sendToNode('all', Buffer.from('hello all'));
    await until('broadcast everywhere', timing.eventMs, () => got.every((g) => g.includes('hello all')));
    for (const [i, v] of c.views.entries()) v.off('message', listeners[i]!);
    expect(got[last]).toEqual(['drop 2acaa38d-f1d3-40c2-94e8-17bc98f2b571', 'hello all']);
    expect(got[0]).toEqual(['hello all']);
  });

  it('a crashed and restarted cluster daemon is reported lost, then restored with fresh state', async () => {
    const c = cluster();
    const victim = c.views.length - 1;
    const rec = recordEvents(c.views);
    await c.crash(victim);
    await until('lost on the crashed node', timing.restartMs, () =>
      rec.events[victim]!.some((e) => e.type === 'lost'),
    );
    expect(c.views[victim]!.connected).toBe(false);
    await c.restart(victim);
    await until('restored on the crashed node', timing.restartMs, () =>
      rec.events[victim]!.some((e) => e.type === 'restored'),
    );
    rec.stop();
    expect(c.views[victim]!.connected).toBe(true);
    expect(c.views[victim]!.pnn).toBe(victim);
    const map = await c.views[victim]!.nodeMap();
    expect(map).toHaveLength(c.views.length);
    const order = rec.events[victim]!.map((e) => e.type).filter((t) => t === 'lost' || t === 'restored');
    expect(order[0]).toBe('lost');
    expect(order.at(-1)).toBe('restored');
  });

  it('loses no RELEASE_IP or TAKE_IP across a burst of 10 moves back and forth', async () => {
    const c = cluster();
    const ip = c.publicIps[1]!;
    const owners = await c.owners();
    const a = owners[ip]!;
    const b = (a + 1) % c.views.length;
    const rec = recordEvents(c.views);
    for (let i = 0; i < 10; i++) await c.moveIp(ip, i % 2 === 0 ? b : a);
    const count = (pnn: number, type: 'ip-released' | 'ip-taken') =>
      rec.events[pnn]!.filter((e) => e.type === type && 'ip' in e && e.ip === ip).length;
    await until(
      '5 releases and 5 takes on each side',
      timing.eventMs * 10,
      () =>
        count(a, 'ip-released') === 5 &&
        count(b, 'ip-taken') === 5 &&
        count(b, 'ip-released') === 5 &&
        count(a, 'ip-taken') === 5,
    );
    rec.stop();
    // Each node's events alternate in the order the moves happened.
    const seq = rec.events[a]!.filter((e) => 'ip' in e && e.ip === ip).map((e) => e.type);
    expect(seq).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'ip-released' : 'ip-taken')));
  });
}
