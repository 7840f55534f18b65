import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiGet } from '../../../cli/api-client.js';
import type { ChannelRow } from '../../../coordinator/coordinator.js';
import { type ClientBox, ContainerCluster } from '../../harness/container-cluster.js';
import { containerEngineReason } from '../../harness/container-engine.js';
import { ContainerMccd, prepareClusteredSmbd } from '../../harness/container-mccd.js';
import {
  InteractiveSmbclient,
  NotifyWatch,
  prepareClient,
  smbclientBatch,
} from '../../harness/container-smbclient.js';
import { waitFor } from '../../harness/netns.js';
import { describePeer } from '../../helpers/skip.js';

/**
 * The production replica: three CTDB nodes, each a container with its own filesystem running real ctdbd,
 * smbd with `clustering = yes` behind mccd (node 0 and 2 from a pool, node 1 spawning one smbd per
 * connection), one shared directory as the cluster filesystem, and smbclient in a client container.
 */
describePeer('container cluster: clustered smbd behind mccd on every node', containerEngineReason(), () => {
  let cluster: ContainerCluster;
  let client: ClientBox;
  const mccds: ContainerMccd[] = [];

  beforeAll(async () => {
    cluster = await ContainerCluster.start({ nodes: 3, clients: 1 });
    client = cluster.clients[0]!;
    await prepareClusteredSmbd(cluster);
    await prepareClient(cluster, client);
    writeFileSync(join(client.dir, 'up.txt'), 'a file every test can put\n');
    for (const pnn of [0, 1, 2])
      mccds.push(await ContainerMccd.start(cluster, pnn, { pool: pnn === 1 ? 0 : 4 }));
  }, 240_000);

  afterAll(async () => {
    for (const m of mccds) await m.stop().catch(() => undefined);
    await cluster?.stop();
  }, 60_000);

  it('every node is OK and every public IP is hosted', async () => {
    const status = await cluster.nodeStatus();
    expect(status.map((s) => s.ok)).toEqual([true, true, true]);
    const owners = await cluster.ipOwners();
    expect(Object.keys(owners).sort()).toEqual([...cluster.publicIps].sort());
    expect(Object.values(owners).every((o) => o >= 0)).toBe(true);
  });

  it('a file put through one node is read through the others, by fixed and public IPs', async () => {
    const owners = await cluster.ipOwners();
    const publicOf = (pnn: number) => Object.entries(owners).find(([, o]) => o === pnn)?.[0];
    const body = `written through node 0 at ${Date.now()}\n`;
    writeFileSync(join(client.dir, 'up.txt'), body);
    const put = await smbclientBatch(cluster, client, cluster.node(0).address, 'put /client/up.txt up.txt');
    expect(put.code, put.output).toBe(0);
    const servers = [cluster.node(1).address, cluster.node(2).address, publicOf(0), publicOf(1)];
    for (const [i, server] of servers.entries()) {
      expect(server, 'a public IP on nodes 0 and 1').toBeDefined();
      const get = await smbclientBatch(cluster, client, server!, `get up.txt /client/down${i}.txt`);
      expect(get.code, `${server}: ${get.output}`).toBe(0);
      const got = await cluster.sh(client, `cat /client/down${i}.txt`);
      expect(got, server).toBe(body);
    }
    // mccd on each of those nodes handed the connections to smbd: its channel table saw them come and go.
    const put1 = await smbclientBatch(cluster, client, publicOf(1)!, 'put /client/up.txt up1.txt');
    expect(put1.code, put1.output).toBe(0);
  }, 120_000);

  it('a file open through node 0 cannot be deleted through node 1 until node 0 closes it', async () => {
    const put = await smbclientBatch(cluster, client, cluster.node(0).address, 'put /client/up.txt held.txt');
    expect(put.code, put.output).toBe(0);
    const holder = await InteractiveSmbclient.open(client, cluster.node(0).address);
    try {
      const fnum = await holder.openFile('held.txt');
      // ctdbd carries the open to every node: smbstatus on node 1 lists it.
      const locks = await cluster.sh(1, 'smbstatus -L 2>/dev/null || true');
      expect(locks).toContain('held.txt');
      const refused = await smbclientBatch(cluster, client, cluster.node(1).address, 'del held.txt');
      expect(refused.output).toContain('NT_STATUS_SHARING_VIOLATION');
      await holder.closeFile(fnum);
      const allowed = await smbclientBatch(cluster, client, cluster.node(1).address, 'del held.txt');
      expect(allowed.code, allowed.output).toBe(0);
      expect(allowed.output).not.toContain('NT_STATUS_');
    } finally {
      holder.close();
    }
  }, 120_000);

  it('ctdb moveip tears the smbclient session on that IP down; a new one is served by the new owner', async () => {
    const owners = await cluster.ipOwners();
    const [ip, from] = Object.entries(owners)[0]!;
    const to = (from + 1) % cluster.nodes.length;
    const session = await InteractiveSmbclient.open(client, ip);
    try {
      expect((await session.ls()).ok).toBe(true);
      // mccd on the owner holds the channel (on the public IP) and hands it to clustered smbd.
      expect((await channelsOn(mccds[from]!)).map((c) => c.serverIp)).toContain(ip);
      await cluster.moveIp(ip, to);
      await cluster.waitHealthy(60_000);
      expect((await cluster.ipOwners())[ip]).toBe(to);
      const after = await session.ls();
      expect(after.ok, after.output).toBe(false);
      expect(after.output).toMatch(/NT_STATUS_[A-Z_]+|exited/);
      expect(mccds[from]!.log()).toContain(`RELEASE_IP ${ip}`);
      expect((await channelsOn(mccds[from]!)).map((c) => c.serverIp)).not.toContain(ip);
    } finally {
      session.close();
    }
    const again = await InteractiveSmbclient.open(client, ip);
    try {
      expect((await channelsOn(mccds[to]!)).map((c) => c.serverIp)).toContain(ip);
    } finally {
      again.close();
    }
  }, 120_000);

  // Change notify across nodes. Samba's notify daemons learn of other nodes' watches from a broadcast
  // each sends about once a second (notifyd's "reclog"), so the change comes 3 s after the watcher's smbd
  // lists the watch. Node 0 and 2 run a pool (the zygote is their long-lived notify daemon), node 1
  // spawns an `smbd -i` per connection (each its own notify daemon): the watcher and the changer are
  // each of both kinds.
  const modeOf = (pnn: number) => (pnn === 1 ? 'spawn' : 'pool');
  for (const [watcher, changer] of [
    [0, 2],
    [1, 2],
    [0, 1],
  ] as const) {
    it(`change notify: a watcher through node ${watcher} (${modeOf(watcher)}) hears of a file created through node ${changer} (${modeOf(changer)})`, async () => {
      const dir = `notify-${watcher}-${changer}`;
      const mk = await smbclientBatch(cluster, client, cluster.node(2).address, `mkdir ${dir}`);
      expect(mk.code, mk.output).toBe(0);
      const watch = NotifyWatch.start(cluster, client, cluster.node(watcher).address, dir);
      try {
        await waitFor(`node ${watcher}'s smbstatus --notify to list the watch on ${dir}`, 15_000, async () =>
          (await cluster.sh(watcher, 'smbstatus --notify 2>/dev/null || true')).includes(`/srv/share/${dir}`)
            ? true
            : undefined,
        );
        await new Promise((r) => setTimeout(r, 3000));
        const put = await smbclientBatch(
          cluster,
          client,
          cluster.node(changer).address,
          `put /client/up.txt ${dir}/new.txt`,
        );
        expect(put.code, put.output).toBe(0);
        await waitFor(`the notification of ${dir}/new.txt through node ${watcher}`, 10_000, () =>
          /new\.txt/.test(watch.text()) ? true : undefined,
        ).catch((error: Error) => {
          throw new Error(`${error.message}; the watcher printed: ${JSON.stringify(watch.text())}`);
        });
      } finally {
        await watch.stop();
      }
    }, 60_000);
  }

  it('kill -9 of the smbd holding a file open through node 0: node 1 deletes it on the first try', async () => {
    const put = await smbclientBatch(
      cluster,
      client,
      cluster.node(0).address,
      'put /client/up.txt crash.txt',
    );
    expect(put.code, put.output).toBe(0);
    const holder = await InteractiveSmbclient.open(client, cluster.node(0).address);
    try {
      await holder.openFile('crash.txt');
      const refused = await smbclientBatch(cluster, client, cluster.node(1).address, 'del crash.txt');
      expect(refused.output).toContain('NT_STATUS_SHARING_VIOLATION');
      const serving = [...(await mccds[0]!.smbdServing()).entries()].filter(([, peers]) =>
        peers.some((p) => p.startsWith(`${client.address}:`)),
      );
      expect(serving.length, 'one smbd on node 0 serves the holder').toBe(1);
      await mccds[0]!.killSmbd(serving[0]![0]);
      // No retry and no wait: smbd on node 1 finds the dead holder's share mode (its server id is gone)
      // and lets the delete through.
      const del = await smbclientBatch(cluster, client, cluster.node(1).address, 'del crash.txt');
      expect(del.code, del.output).toBe(0);
      expect(del.output).not.toContain('NT_STATUS_');
    } finally {
      holder.close();
    }
  }, 60_000);
});

function channelsOn(m: ContainerMccd): Promise<ChannelRow[]> {
  return apiGet<ChannelRow[]>({ socketPath: m.apiSocket }, '/v1/channels');
}
