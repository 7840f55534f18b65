import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterView, SimulatedCluster } from '../../../ctdb/index.js';
import { TestRedis } from '../../harness/redis.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';
import { type ClusterUnderTest, clusterViewContract, recordEvents, until } from './contract.js';

describePeer(
  'ClusterView contract: Redis simulation on a real redis-server',
  missingPrograms('redis-server'),
  () => {
    let redis: TestRedis;
    let sim: SimulatedCluster;
    const views: RedisClusterView[] = [];
    const publicIps = ['10.213.0.101', '10.213.0.102', '10.213.0.103'];

    beforeAll(async () => {
      redis = await TestRedis.start();
      const name = `t${process.pid}`;
      sim = await SimulatedCluster.create(
        redis.url,
        name,
        [{ address: '10.213.0.1' }, { address: '10.213.0.2' }, { address: '10.213.0.3' }],
        publicIps,
      );
      for (let pnn = 0; pnn < 3; pnn++) {
        const v = new RedisClusterView({ url: redis.url, cluster: name, pnn });
        await v.start();
        views.push(v);
      }
    });
    afterAll(async () => {
      await Promise.allSettled(views.map((v) => v.stop()));
      await sim?.close();
      await redis?.stop();
    });

    const cluster = (): ClusterUnderTest => ({
      views,
      publicIps,
      owners: () => sim.owners(),
      moveIp: (ip, to) => sim.moveIp(ip, to),
      crash: (pnn) => sim.crash(pnn),
      restart: (pnn) => sim.restart(pnn),
    });

    describe('contract', () => clusterViewContract(cluster, { eventMs: 2000, restartMs: 5000 }));

    it("disable moves the node's IPs away with a release on it and takes elsewhere", async () => {
      const owners = await sim.owners();
      const victim = 1;
      const held = Object.entries(owners)
        .filter(([, o]) => o === victim)
        .map(([ip]) => ip);
      const rec = recordEvents(views);
      await sim.disable(victim);
      await until(
        'releases on the disabled node',
        2000,
        () => rec.events[victim]!.filter((e) => e.type === 'ip-released').length === held.length,
      );
      rec.stop();
      expect((await views[0]!.nodeMap())[victim]!.flagNames).toEqual(['PERMANENTLY_DISABLED']);
      expect(Object.values(await sim.owners())).not.toContain(victim);
      await sim.enable(victim);
    });

    it('losing Redis itself is reported as lost, and its return as restored', async () => {
      const rec = recordEvents(views);
      redis = await redis.restart();
      await until('lost then restored on every view', 10_000, () =>
        rec.events.every((ev) => ev.some((e) => e.type === 'lost') && ev.at(-1)?.type === 'restored'),
      );
      rec.stop();
      expect(views.every((v) => v.connected)).toBe(true);
    });
  },
);
