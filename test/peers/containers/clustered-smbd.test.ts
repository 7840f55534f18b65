import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiGet } from '../../../cli/api-client.js';
import type { ChannelRow } from '../../../coordinator/coordinator.js';
import { type ClientBox, ContainerCluster } from '../../harness/container-cluster.js';
import { containerEngineReason } from '../../harness/container-engine.js';
import { ContainerMccd, prepareClusteredSmbd } from '../../harness/container-mccd.js';
import { InteractiveSmbclient, prepareClient, smbclientBatch } from '../../harness/container-smbclient.js';
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
});

function channelsOn(m: ContainerMccd): Promise<ChannelRow[]> {
  return apiGet<ChannelRow[]>({ socketPath: m.apiSocket }, '/v1/channels');
}
