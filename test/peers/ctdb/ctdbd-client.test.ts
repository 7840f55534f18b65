import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbControlError } from '../../../ctdb/connection.js';
import { CtdbdClusterView } from '../../../ctdb/index.js';
import { CtdbTestCluster, ctdbAvailable } from '../../harness/ctdb-cluster.js';
import { type PostedEvent, startEventSink } from '../../harness/event-sink.js';
import { waitFor } from '../../harness/netns.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';
import { type ClusterUnderTest, clusterViewContract, recordEvents, until } from './contract.js';

describePeer(
  'ClusterView contract: native client against a real 3-node ctdbd cluster in namespaces',
  firstReason(notRoot(), missingPrograms('ip', 'ctdb', 'ethtool', 'iptables'), ctdbAvailable()),
  () => {
    let cluster: CtdbTestCluster;
    const views: CtdbdClusterView[] = [];
    // Each node's 09.mcc.script posts to its own sink, standing in for that node's mccd.
    const sinkDir = mkdtempSync(join(tmpdir(), 'mcc-sinks-'));
    const sinks: { events: PostedEvent[]; close: () => Promise<void> }[] = [];

    beforeAll(async () => {
      for (let pnn = 0; pnn < 3; pnn++) sinks.push(await startEventSink(join(sinkDir, `mccd${pnn}.sock`)));
      cluster = await CtdbTestCluster.start({
        nodes: 3,
        eventScripts: [join(projectRoot, 'deploy/ctdb/09.mcc.script')],
        env: (node) => ({ MCC_SOCKET: join(sinkDir, `mccd${node.pnn}.sock`) }),
      });
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
      await Promise.allSettled(sinks.map((s) => s.close()));
      rmSync(sinkDir, { recursive: true, force: true });
    }, 60_000);

    const underTest = (): ClusterUnderTest => ({
      views,
      publicIps: cluster.publicIps,
      owners: () => cluster.ipOwners(),
      moveIp: (ip, to) => cluster.moveIp(ip, to),
      crash: (pnn) => cluster.kill9(pnn),
      restart: async (pnn) => {
        cluster.restart(pnn);
        await cluster.waitHealthy(60_000);
      },
    });

    describe('contract', () => clusterViewContract(underTest, { eventMs: 5000, restartMs: 90_000 }));

    async function leader(): Promise<number> {
      return Number((await cluster.ctdb(0, ['leader'])).trim());
    }

    it('public IPs and owners equal `ctdb -X ip all` on every node, and runstate is RUNNING', async () => {
      await cluster.waitHealthy(60_000);
      const expected = await cluster.ipOwners();
      for (const v of views) {
        const ips = await v.publicIps();
        expect(Object.fromEntries(ips.map((i) => [i.address, i.owner ?? -1]))).toEqual(expected);
        expect(await v.runstate()).toBe('RUNNING');
      }
    });

    it('disable/enable of a non-leader shows in the node map and moves its IPs with RELEASE_IP on it', async () => {
      await cluster.waitHealthy(60_000);
      const lead = await leader();
      const target = [0, 1, 2].find((p) => p !== lead)!;
      const held = Object.entries(await cluster.ipOwners())
        .filter(([, o]) => o === target)
        .map(([ip]) => ip);
      const rec = recordEvents(views);
      await cluster.ctdb(target, ['disable']);
      await waitFor('disabled flag', 20_000, async () =>
        (await views[0]!.nodeMap())[target]!.flagNames.includes('PERMANENTLY_DISABLED') ? true : undefined,
      );
      await until(`RELEASE_IP of ${held.join(',')} on node ${target}`, 20_000, () =>
        held.every((ip) => rec.events[target]!.some((e) => e.type === 'ip-released' && e.ip === ip)),
      );
      await cluster.ctdb(target, ['enable']);
      await waitFor('enabled again', 20_000, async () =>
        (await views[0]!.nodeMap())[target]!.ok ? true : undefined,
      );
      rec.stop();
      await cluster.waitHealthy(60_000);
    });

    it('stop/continue of a non-leader shows STOPPED, and the client keeps working', async () => {
      const lead = await leader();
      const target = [0, 1, 2].find((p) => p !== lead)!;
      await cluster.ctdb(target, ['stop']);
      await waitFor('stopped flag', 30_000, async () =>
        (await views[target]!.nodeMap())[target]!.flagNames.includes('STOPPED') ? true : undefined,
      );
      await cluster.ctdb(target, ['continue']);
      await waitFor('running again', 30_000, async () =>
        (await views[target]!.nodeMap())[target]!.ok ? true : undefined,
      );
      expect(views[target]!.connected).toBe(true);
      await cluster.waitHealthy(60_000);
    });

    it('deploy/ctdb/09.mcc.script runs in every node and forwards releaseip, takeip and ipreallocated', async () => {
      // Takeover runs (at start-up and after recoveries) end with ipreallocated on every node.
      for (const sink of sinks) expect(sink.events.some((e) => e.event === 'ipreallocated')).toBe(true);
      await cluster.waitHealthy(60_000);
      const ip = cluster.publicIps[2]!;
      const from = (await cluster.ipOwners())[ip]!;
      const to = (from + 1) % 3;
      const mark = sinks.map((s) => s.events.length);
      await cluster.moveIp(ip, to);
      const since = (pnn: number) => sinks[pnn]!.events.slice(mark[pnn]);
      // A moveip runs releaseip on the old owner and takeip on the new one (no ipreallocated).
      await until(
        'releaseip on the old owner and takeip on the new one',
        20_000,
        () =>
          since(from).some((e) => e.event === 'releaseip' && e.args.includes(ip)) &&
          since(to).some((e) => e.event === 'takeip' && e.args.includes(ip)),
      );
      expect(since(from).find((e) => e.event === 'releaseip')?.args).toEqual(['eth0', ip, '24']);
      // The script never fails, so no node was banned by it.
      expect((await cluster.nodeStatus()).every((n) => n.ok)).toBe(true);
    });

    it("a control to a pnn that does not exist fails with a typed error carrying ctdbd's status", async () => {
      // ctdbd answers a control to a node it does not know at once (status -1, "ctdb_control to
      // disconnected node"); a timeout would mean the client lost the answer, which this must not accept.
      const started = Date.now();
      const error = await views[0]!.publicIpsOf(7).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CtdbControlError);
      expect(error).toMatchObject({ destnode: 7 });
      expect((error as CtdbControlError).status).toBeLessThan(0);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  },
);
