import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type MccConfig, parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { createLogger } from '../../../coordinator/log.js';
import { RedisClusterView, type SimulatedCluster } from '../../../ctdb/index.js';
import {
  negotiateChannel,
  startTestMccd,
  startWorker,
  stopProcess,
  type TestMccd,
} from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { freePort, LOOPBACK_CLUSTER, startLoopbackCluster, type TestRedis } from '../../harness/redis.js';
import { ENDED_BY_PEER, endWithin } from '../../harness/socket-end.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

/**
 * The cluster rules hold for clients a restarted mccd took back exactly as for new ones: a RELEASE_IP
 * right after the restart, and one that happened while mccd was down (Redis-simulated two-node cluster;
 * 127.0.0.2 plays a public IP of node 0, 127.0.0.1 its fixed address).
 */
describePeer(
  'cluster rules on the clients a restarted mccd took back (Redis-simulated cluster)',
  // root: the teardown of a client whose worker has not re-registered yet is SOCK_DESTROY.
  firstReason(missingPrograms('redis-server'), notRoot()),
  () => {
    const { public: PUBLIC, fixed: FIXED } = LOOPBACK_CLUSTER;
    let loopback: Awaited<ReturnType<typeof startLoopbackCluster>> | undefined;
    let redis: TestRedis;
    let sim: SimulatedCluster;
    let name: string;
    let dir: string;
    let config: MccConfig;
    let port: number;
    let worker: ChildProcess | undefined;
    let node: Coordinator | undefined;
    let other: TestMccd | undefined;
    let otherWorker: ChildProcess | undefined;

    async function startNode(): Promise<Coordinator> {
      const view = new RedisClusterView({ url: redis.url, cluster: name, pnn: 0 });
      const c = new Coordinator(config, createLogger(config.log.level), { cluster: view });
      await c.start();
      return c;
    }

    async function waitStateWritten(c: Coordinator): Promise<void> {
      await waitFor('state written', 5000, () =>
        c.stateWriter?.last?.clients === c.registry.size ? true : undefined,
      );
    }

    beforeAll(async () => {
      loopback = await startLoopbackCluster('restart');
      ({ redis, sim, name } = loopback);
      dir = mkdtempSync(join(tmpdir(), 'mcc-restart-'));
      port = await freePort();
      config = parseConfig({
        listen: [
          { address: FIXED, port },
          { address: PUBLIC, port },
        ],
        api: { socket: join(dir, 'api.sock') },
        backend: { kind: 'worker', socket: join(dir, 'workers.sock'), teardownAckMs: 1000 },
        cluster: { backend: 'redis', redisUrl: redis.url },
        state: { writeIntervalMs: 20, ownerWaitMs: 5000 },
        log: { level: process.env.MCC_TEST_LOG ?? 'fatal' },
      });
      node = await startNode();
      worker = await startWorker(join(dir, 'workers.sock'), 'w0');
      await waitFor(
        'node 0 knows the public IP',
        5000,
        () => (node!.publicIps.has(PUBLIC) ? true : undefined),
        20,
      );
    });

    afterAll(async () => {
      await stopProcess(otherWorker);
      await other?.stop();
      await stopProcess(worker);
      await node?.stop();
      await loopback?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a RELEASE_IP right after a restart tears down every channel of exactly the clients on it', async () => {
      const a = randomUUID();
      const b = randomUUID();
      const aPublic = await negotiateChannel({ host: PUBLIC, port, clientGuid: a });
      const aFixed = await negotiateChannel({ host: FIXED, port, clientGuid: a });
      const bFixed = await negotiateChannel({ host: FIXED, port, clientGuid: b });
      await waitStateWritten(node!);
      await node!.stop();
      node = await startNode();
      expect(node.restore).toMatchObject({
        outcome: 'restored',
        clients: { restored: 2, kept: 2, dropped: 0 },
        channels: { restored: 3, kept: 3, dropped: 0 },
        unknownClosed: 0,
      });
      expect(node.registry.view(a)?.context.channels.map((c) => c.onPublicIp)).toEqual([true, false]);
      await sim.moveIp(PUBLIC, 1);
      expect(await endWithin(aPublic.closed, 10_000, "a's channel on the public IP")).toMatch(ENDED_BY_PEER);
      expect(await endWithin(aFixed.closed, 10_000, "a's channel on the fixed address")).toMatch(
        ENDED_BY_PEER,
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(bFixed.socket.destroyed).toBe(false);
      expect(node.registry.view(b)?.state).toBe('active');
      bFixed.socket.destroy();
      await sim.moveIp(PUBLIC, 0);
      await waitFor(
        'public IP back',
        5000,
        async () => ((await sim.owners())[PUBLIC] === 0 ? true : undefined),
        20,
      );
    });

    it('a RELEASE_IP while mccd was down tears its clients down at the restart; the others are kept', async () => {
      const c = randomUUID();
      const d = randomUUID();
      const cPublic = await negotiateChannel({ host: PUBLIC, port, clientGuid: c });
      const cFixed = await negotiateChannel({ host: FIXED, port, clientGuid: c });
      const dFixed = await negotiateChannel({ host: FIXED, port, clientGuid: d });
      await waitFor('every channel active', 5000, () =>
        node!.registry.view(d)?.state === 'active' && node!.registry.view(c)?.state === 'active'
          ? true
          : undefined,
      );
      await waitStateWritten(node!);
      await node!.stop();
      await sim.moveIp(PUBLIC, 1);
      node = await startNode();
      expect(node.restore?.clients).toEqual({ restored: 2, kept: 1, dropped: 1 });
      expect(node.restore?.dropped).toEqual({ 'public IP left this node while mccd was down': 1 });
      expect(await endWithin(cPublic.closed, 10_000, "c's channel on the public IP")).toMatch(ENDED_BY_PEER);
      expect(await endWithin(cFixed.closed, 10_000, "c's channel on the fixed address")).toMatch(
        ENDED_BY_PEER,
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(dFixed.socket.destroyed).toBe(false);
      expect(node.registry.view(d)?.state).toBe('active');
      dFixed.socket.destroy();
    });

    it("a channel lost on a public IP before the restart still counts for that IP's RELEASE_IP after it", async () => {
      await sim.moveIp(PUBLIC, 0);
      await waitFor('public IP owned by node 0', 5000, async () =>
        (await sim.owners())[PUBLIC] === 0 ? true : undefined,
      );
      const e = randomUUID();
      const ePublic = await negotiateChannel({ host: PUBLIC, port, clientGuid: e });
      const eFixed = await negotiateChannel({ host: FIXED, port, clientGuid: e });
      // ctdb's releaseip resets the channels on an IP before RELEASE_IP reaches mccd: one goes first.
      ePublic.socket.destroy();
      await waitFor('public channel gone', 5000, () =>
        node!.registry.view(e)?.context.channels.length === 1 ? true : undefined,
      );
      await waitStateWritten(node!);
      await node!.stop();
      node = await startNode();
      expect(node.registry.view(e)?.context.lostPublicIps?.map((l) => l.ip)).toEqual([PUBLIC]);
      await sim.moveIp(PUBLIC, 1);
      expect(await endWithin(eFixed.closed, 10_000, "e's remaining channel")).toMatch(ENDED_BY_PEER);
      await sim.moveIp(PUBLIC, 0);
    });

    it('a restored client that connected to another node while mccd was down is dropped here (one client, one node)', async () => {
      other = await startTestMccd(
        { listen: [{ address: '127.0.0.3', port: 0 }] },
        new RedisClusterView({ url: redis.url, cluster: name, pnn: 1 }),
      );
      otherWorker = await startWorker((other.config.backend as { socket: string }).socket, 'w1');
      const otherPort = other.coordinator.frontDoor.addresses()[0]!.port;
      const g = randomUUID();
      const here = await negotiateChannel({ host: FIXED, port, clientGuid: g });
      await waitStateWritten(node!);
      await node!.stop();
      // Node 1's claim goes out while node 0 has no mccd to hear it.
      const there = await negotiateChannel({ host: '127.0.0.3', port: otherPort, clientGuid: g });
      node = await startNode();
      expect(node.restore?.clients.kept).toBeGreaterThanOrEqual(1);
      expect(await endWithin(here.closed, 10_000, "the client's channel on node 0")).toMatch(ENDED_BY_PEER);
      await new Promise((r) => setTimeout(r, 200));
      expect(there.socket.destroyed).toBe(false);
      expect(other.coordinator.registry.view(g)?.state).toBe('active');
      there.socket.destroy();
    });
  },
);
