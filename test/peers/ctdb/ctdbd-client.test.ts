import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbdClusterView } from '../../../ctdb/index.js';
import { CtdbTestCluster, ctdbAvailable } from '../../harness/ctdb-cluster.js';
import { waitFor } from '../../harness/netns.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';
import { type ClusterUnderTest, clusterViewContract, recordEvents, until } from './contract.js';

describePeer(
  'ClusterView contract: native client against a real 3-node ctdbd cluster in namespaces',
  firstReason(notRoot(), missingPrograms('ip', 'ctdb', 'ethtool', 'iptables'), ctdbAvailable()),
  () => {
    let cluster: CtdbTestCluster;
    const views: CtdbdClusterView[] = [];

    beforeAll(async () => {
      cluster = await CtdbTestCluster.start({ nodes: 3 });
      for (const node of cluster.nodes) {
        const v = new CtdbdClusterView({
          socketPath: node.socket,
          backoffMinMs: 100,
          backoffMaxMs: 1000,
          timeoutMs: 5000,
        });
        await v.start();
        views.push(v);
      }
    }, 150_000);

    afterAll(async () => {
      await Promise.allSettled(views.map((v) => v.stop()));
      await cluster?.stop();
    }, 60_000);

    const underTest = (): ClusterUnderTest => ({
      views,
      publicIps: cluster.publicIps,
      owners: async () => cluster.ipOwners(),
      moveIp: async (ip, to) => cluster.moveIp(ip, to),
      crash: (pnn) => cluster.kill9(pnn),
      restart: async (pnn) => {
        cluster.restart(pnn);
        await cluster.waitHealthy(60_000);
      },
    });

    describe('contract', () => clusterViewContract(underTest, { eventMs: 5000, restartMs: 90_000 }));

    function leader(): number {
      const out = cluster.ctdb(0, ['leader']).trim();
      return Number(out);
    }

    it('public IPs and owners equal `ctdb -X ip all` on every node, and runstate is RUNNING', async () => {
      await cluster.waitHealthy(60_000);
      const expected = cluster.ipOwners();
      for (const v of views) {
        const ips = await v.publicIps();
        expect(Object.fromEntries(ips.map((i) => [i.address, i.owner ?? -1]))).toEqual(expected);
        expect(await v.runstate()).toBe('RUNNING');
      }
    });

    it('disable/enable of a non-leader shows in the node map and moves its IPs with RELEASE_IP on it', async () => {
      await cluster.waitHealthy(60_000);
      const target = [0, 1, 2].find((p) => p !== leader())!;
      const held = Object.entries(cluster.ipOwners())
        .filter(([, o]) => o === target)
        .map(([ip]) => ip);
      const rec = recordEvents(views);
      cluster.ctdb(target, ['disable']);
      await waitFor('disabled flag', 20_000, async () =>
        (await views[0]!.nodeMap())[target]!.flagNames.includes('PERMANENTLY_DISABLED') ? true : undefined,
      );
      await until(`RELEASE_IP of ${held.join(',')} on node ${target}`, 20_000, () =>
        held.every((ip) => rec.events[target]!.some((e) => e.type === 'ip-released' && e.ip === ip)),
      );
      cluster.ctdb(target, ['enable']);
      await waitFor('enabled again', 20_000, async () =>
        (await views[0]!.nodeMap())[target]!.ok ? true : undefined,
      );
      rec.stop();
      await cluster.waitHealthy(60_000);
    });

    it('stop/continue of a non-leader shows STOPPED, and the client keeps working', async () => {
      const target = [0, 1, 2].find((p) => p !== leader())!;
      cluster.ctdb(target, ['stop']);
      await waitFor('stopped flag', 30_000, async () =>
        (await views[target]!.nodeMap())[target]!.flagNames.includes('STOPPED') ? true : undefined,
      );
      cluster.ctdb(target, ['continue']);
      await waitFor('running again', 30_000, async () =>
        (await views[target]!.nodeMap())[target]!.ok ? true : undefined,
      );
      expect(views[target]!.connected).toBe(true);
      await cluster.waitHealthy(60_000);
    });

    it("a control to a pnn that does not exist fails with a typed error carrying ctdbd's status", async () => {
      await expect(views[0]!.publicIpsOf(7)).rejects.toMatchObject({
        name: expect.stringMatching(/Ctdb(Control|Timeout)Error/),
      });
    });
  },
);
