import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisClusterView, type SimulatedCluster } from '../../../ctdb/index.js';
import {
  negotiateChannel,
  startTestMccd,
  startWorker,
  stopProcess,
  type TestMccd,
} from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { freePort, LOOPBACK_CLUSTER, startLoopbackCluster } from '../../harness/redis.js';
import { ENDED_BY_PEER, endWithin } from '../../harness/socket-end.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';

/**
 * The cluster rules on a Redis-simulated two-node cluster, both mccds on loopback: 127.0.0.2 plays a
 * public IP of node 0, 127.0.0.1 its fixed address. Node 1 listens on 127.0.0.3.
 */
describePeer(
  'cluster rules through mccd (Redis-simulated cluster, real redis-server)',
  missingPrograms('redis-server'),
  () => {
    let loopback: Awaited<ReturnType<typeof startLoopbackCluster>> | undefined;
    let sim: SimulatedCluster;
    const nodes: TestMccd[] = [];
    const workers: ChildProcess[] = [];
    const { public: PUBLIC, fixed: FIXED } = LOOPBACK_CLUSTER;
    let port0: number;
    let port1: number;

    beforeAll(async () => {
      loopback = await startLoopbackCluster('rules');
      const { redis, name } = loopback;
      sim = loopback.sim;
      port0 = await freePort();
      // Node 0 listens on its fixed address and on its public IP, on one port, as smbd would on 445.
      for (const [pnn, listen] of [
        [
          0,
          [
            { address: FIXED, port: port0 },
            { address: PUBLIC, port: port0 },
          ],
        ],
        [1, [{ address: '127.0.0.3', port: 0 }]],
      ] as const) {
        const view = new RedisClusterView({ url: redis.url, cluster: name, pnn });
        const m = await startTestMccd({ listen }, view);
        nodes.push(m);
        workers.push(await startWorker((m.config.backend as { socket: string }).socket, `n${pnn}w`));
      }
      port1 = nodes[1]!.coordinator.frontDoor.addresses()[0]!.port;
      await waitFor(
        'node 0 knows the public IP',
        5000,
        () => (nodes[0]!.coordinator.publicIps.has(PUBLIC) ? true : undefined),
        20,
      );
    });

    afterAll(async () => {
      for (const w of workers) await stopProcess(w);
      for (const n of nodes) await n.stop();
      await loopback?.stop();
    });

    it('RELEASE_IP of a public IP tears down every channel of a client that had one channel on it; others keep theirs', async () => {
      const a = randomUUID();
      const b = randomUUID();
      const aPublic = await negotiateChannel({ host: PUBLIC, port: port0, clientGuid: a });
      const aFixed = await negotiateChannel({ host: FIXED, port: port0, clientGuid: a });
      const bFixed = await negotiateChannel({ host: FIXED, port: port0, clientGuid: b });
      const reg = nodes[0]!.coordinator.registry;
      expect(reg.view(a)?.context.channels.map((c) => c.onPublicIp)).toEqual([true, false]);
      const t0 = Date.now();
      await sim.moveIp(PUBLIC, 1);
      // Both of a's channels end, the one on the fixed address too.
      expect(await endWithin(aPublic.closed, 10_000, "a's channel on the public IP")).toMatch(ENDED_BY_PEER);
      expect(await endWithin(aFixed.closed, 10_000, "a's channel on the fixed address")).toMatch(
        ENDED_BY_PEER,
      );
      const elapsed = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 100));
      expect(bFixed.socket.destroyed).toBe(false);
      expect(reg.view(b)?.state).toBe('active');
      // As root, mccd reset both of a's channels itself, in one batch, before its worker heard of it.
      const resets = await nodes[0]!.coordinator.metrics.registry.getSingleMetricAsString(
        'mcc_channels_reset_at_once_total',
      );
      expect(resets).toMatch(/result="killed"} 2\b/);
      process.stdout.write(`RELEASE_IP → both channels of the client closed in ${elapsed} ms\n`);
      bFixed.socket.destroy();
      await sim.moveIp(PUBLIC, 0);
    });

    it('a client that connects to another node with the same GUID is dropped here (one client, one node)', async () => {
      const g = randomUUID();
      const onNode0 = await negotiateChannel({ host: FIXED, port: port0, clientGuid: g });
      const onNode1 = await negotiateChannel({ host: '127.0.0.3', port: port1, clientGuid: g });
      expect(await endWithin(onNode0.closed, 10_000, 'the channel on node 0')).toMatch(ENDED_BY_PEER);
      await waitFor(
        'node 0 dropped the client',
        5000,
        () => (!nodes[0]!.coordinator.registry.has(g) ? true : undefined),
        20,
      );
      expect(onNode1.socket.destroyed).toBe(false);
      // The worker reports the dialect to mccd just after answering the client.
      await waitFor(
        'active on node 1',
        3000,
        () => (nodes[1]!.coordinator.registry.view(g)?.state === 'active' ? true : undefined),
        10,
      );
      onNode1.socket.destroy();
    });

    it('losing the cluster daemon tears down the clients with a channel on a public IP, and only those', async () => {
      await waitFor(
        'public IP back on node 0',
        5000,
        async () => ((await sim.owners())[PUBLIC] === 0 ? true : undefined),
        20,
      );
      const pub = randomUUID();
      const fixedOnly = randomUUID();
      const p = await negotiateChannel({ host: PUBLIC, port: port0, clientGuid: pub });
      const f = await negotiateChannel({ host: FIXED, port: port0, clientGuid: fixedOnly });
      await sim.crash(0);
      expect(await endWithin(p.closed, 10_000, 'the channel on the public IP')).toMatch(ENDED_BY_PEER);
      await new Promise((r) => setTimeout(r, 100));
      expect(f.socket.destroyed).toBe(false);
      f.socket.destroy();
      await sim.restart(0);
    });

    it('mcc cluster channels sees every node', async () => {
      await waitFor(
        'node 0 reconnected',
        5000,
        () => (nodes[0]!.coordinator.cluster.connected ? true : undefined),
        20,
      );
      const g0 = randomUUID();
      const g1 = randomUUID();
      const c0 = await negotiateChannel({ host: FIXED, port: port0, clientGuid: g0 });
      const c1 = await negotiateChannel({ host: '127.0.0.3', port: port1, clientGuid: g1 });
      const r = await nodes[0]!.coordinator.clusterChannels(3000);
      expect(r.missing).toEqual([]);
      expect(r.nodes[0]!.map((row) => row.clientGuid)).toContain(g0);
      expect(r.nodes[1]!.map((row) => row.clientGuid)).toContain(g1);
      c0.socket.destroy();
      c1.socket.destroy();
    });
  },
);
