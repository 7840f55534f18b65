import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiGet } from '../../../cli/api-client.js';
import type { InterfacesReport } from '../../../ifdiscovery/index.js';
import { hexToBytes, interfaceInfoPull, unwrap } from '../../../wire/index.js';
import { type NodeMccd, Probe, startNodeMccd } from '../../harness/cluster-mccd.js';
import { CtdbTestCluster, ctdbAvailable } from '../../harness/ctdb-cluster.js';
import { waitFor } from '../../harness/netns.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

/** `ctdb -X gettickles IP`: one row per registered connection, `|src ip|src port|dst ip|dst port|`. */
function parseTickles(text: string): { src: string; dst: string }[] {
  return text
    .split('\n')
    .map((l) => l.split('|'))
    .filter((cols) => cols.length >= 5 && /^\d+$/.test(cols[2] ?? ''))
    .map((cols) => ({ src: cols[1]!, dst: cols[3]! }));
}

describePeer(
  'mccd on every node of a real 3-node ctdbd cluster in namespaces',
  firstReason(
    notRoot(),
    missingPrograms('ip', 'ctdb', 'ethtool', 'iptables', 'curl', 'systemd-socket-activate'),
    ctdbAvailable(),
  ),
  () => {
    let cluster: CtdbTestCluster;
    const mccds: NodeMccd[] = [];
    const probes: Probe[] = [];
    const clientNs = () => cluster.clientNamespaces[0]!.ns;
    const interfaces = (pnn: number) =>
      apiGet<InterfacesReport>({ socketPath: mccds[pnn]!.apiSocket }, '/v1/interfaces');

    beforeAll(async () => {
      cluster = await CtdbTestCluster.start({
        nodes: 3,
        clients: 1,
        eventScripts: [join(projectRoot, 'deploy/ctdb/09.mcc.script')],
        env: (node) => ({ MCC_SOCKET: join(node.dir, 'mccd.sock') }),
      });
      for (const node of cluster.nodes) mccds.push(await startNodeMccd(cluster, node.pnn));
      for (const m of mccds) {
        await waitFor(`node ${m.pnn} knows the public IPs`, 10_000, async () =>
          (await interfaces(m.pnn)).clusterKnown ? true : undefined,
        );
      }
    }, 180_000);

    afterAll(async () => {
      for (const p of probes) await p.stop();
      for (const m of mccds) await m.stop();
      await cluster?.stop();
    }, 60_000);

    async function assertNoPublicAnnounced(): Promise<void> {
      for (const m of mccds) {
        const r = await interfaces(m.pnn);
        const announced = r.announced.map((a) => a.address);
        expect(announced, `node ${m.pnn}`).toContain(cluster.node(m.pnn).address);
        for (const ip of cluster.publicIps)
          expect(announced, `node ${m.pnn} announces ${ip}`).not.toContain(ip);
        const wire = unwrap(interfaceInfoPull(hexToBytes(r.wireHex))).map((e) => e.address);
        expect(wire).toEqual(announced);
        expect(r.publicIps.sort()).toEqual([...cluster.publicIps].sort());
      }
    }

    it('every node announces its fixed address and never a public IP, before and after each of 4 moveips', async () => {
      await assertNoPublicAnnounced();
      const ip = cluster.publicIps[0]!;
      const latencies: number[] = [];
      for (let i = 0; i < 4; i++) {
        const from = (await cluster.ipOwners())[ip]!;
        const to = (from + 1) % 3;
        const t0 = Date.now();
        await cluster.moveIp(ip, to);
        // The taker's list is recomputed once the address is on its eth0: it shows up as filtered.
        await waitFor(
          `node ${to} filters ${ip}`,
          10_000,
          async () => ((await interfaces(to)).publicFiltered.includes(ip) ? true : undefined),
          10,
        );
        latencies.push(Date.now() - t0);
        await assertNoPublicAnnounced();
      }
      process.stdout.write(
        `interface list updated after moveip in ${latencies.join(', ')} ms (from the moveip command)\n`,
      );
    });

    it('RELEASE_IP of a public IP ends both channels of a client that had one on it; a client without one keeps its channel', async () => {
      const owners = await cluster.ipOwners();
      let ip = Object.keys(owners).find((a) => owners[a] === 1);
      if (!ip) {
        ip = cluster.publicIps[1]!;
        await cluster.moveIp(ip, 1);
        await waitFor('public IP on node 1', 10_000, async () =>
          (await cluster.ipOwners())[ip!] === 1 ? true : undefined,
        );
      }
      const node1 = cluster.node(1).address;
      const a = Probe.start(clientNs(), randomUUID(), [ip, node1]);
      const b = Probe.start(clientNs(), randomUUID(), [node1]);
      probes.push(a, b);
      await waitFor(
        'both probes negotiated',
        10_000,
        () => (a.negotiated() === 2 && b.negotiated() === 1 ? true : undefined),
        20,
      );
      // ctdbd's own record (not mccd's): the channel to the public IP is registered with TCP_CLIENT, so
      // the node that takes the IP over can send tickle ACKs; the one to the fixed address is not.
      const clientAddress = cluster.clientNamespaces[0]!.address;
      const tickles = await waitFor(
        `ctdbd on node 1 lists a's connection to ${ip}`,
        5000,
        async () => {
          const rows = parseTickles(await cluster.ctdb(1, ['-X', 'gettickles', ip]));
          return rows.some((r) => r.src === clientAddress && r.dst === ip) ? rows : undefined;
        },
        50,
      );
      expect(tickles.filter((r) => r.dst !== ip)).toEqual([]);
      const t0 = Date.now();
      await cluster.moveIp(ip, 2);
      await waitFor("both of a's channels closed", 10_000, () => (a.closed() === 2 ? true : undefined), 5);
      const latency = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 500));
      expect(b.closed()).toBe(0);
      // ctdb's releaseip resets the channel on the IP before RELEASE_IP arrives (that channel then ends
      // alone); RELEASE_IP tears down the rest of the client, which lost a channel there a moment ago.
      expect(mccds[1]!.log()).toMatch(
        /"reason":\{"kind":"release-ip","ip":"[0-9.]+"\},"channels":[12],.*client torn down: [12] channel/,
      );
      process.stdout.write(
        `moveip of ${ip} from node 1: both channels of the affected client closed ${latency} ms after the moveip command\n`,
      );
      await b.stop();
    });

    it('ctdbd kill -9 and restart under load: mccd reconnects to a fresh public-IP view fast, announcing no public IP meanwhile', async () => {
      const node = cluster.node(1);
      const fixedProbe = Probe.start(clientNs(), randomUUID(), [node.address]);
      probes.push(fixedProbe);
      await waitFor('probe connected', 10_000, () => (fixedProbe.negotiated() === 1 ? true : undefined), 20);
      const violations: string[] = [];
      // mccd itself keeps running while ctdbd is down: a poll it does not answer is a failure here, not a
      // pass, or "no public IP announced" would hold vacuously through the very outage it is about.
      const pollErrors: string[] = [];
      let polls = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          try {
            const r = await interfaces(1);
            polls++;
            for (const ip of cluster.publicIps)
              if (r.announced.some((a) => a.address === ip)) violations.push(ip);
          } catch (error) {
            pollErrors.push((error as Error).message);
          }
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const pollStart = Date.now();
      await cluster.kill9(1);
      await waitFor('mccd on node 1 notices ctdbd is gone', 10_000, async () => {
        const s = await apiGet<{ clusterConnected: boolean }>(
          { socketPath: mccds[1]!.apiSocket },
          '/v1/status',
        );
        return s.clusterConnected ? undefined : true;
      });
      cluster.restart(1);
      // From the moment the restarted ctdbd answers on its socket to mccd connected again with fresh state.
      const { connect } = await import('node:net');
      const answered = await waitFor(
        'restarted ctdbd answers',
        30_000,
        () =>
          new Promise<number | undefined>((resolve) => {
            const c = connect(node.socket);
            c.once('connect', () => {
              c.destroy();
              resolve(Date.now());
            });
            c.once('error', () => resolve(undefined));
          }),
        50,
      );
      await waitFor(
        'mccd back with a fresh view',
        15_000,
        async () => {
          const s = await apiGet<{ clusterConnected: boolean }>(
            { socketPath: mccds[1]!.apiSocket },
            '/v1/status',
          );
          return s.clusterConnected ? true : undefined;
        },
        20,
      );
      const backMs = Date.now() - answered;
      await cluster.waitHealthy(90_000);
      polling = false;
      await poller;
      process.stdout.write(
        `ctdbd kill -9 on node 1: mccd back ${backMs} ms after the restarted ctdbd answered\n`,
      );
      expect(backMs).toBeLessThan(5000);
      expect(pollErrors).toEqual([]);
      // At least one answer a second over the outage (polled every 50 ms): the check saw the whole window.
      expect(polls).toBeGreaterThanOrEqual(Math.floor((Date.now() - pollStart) / 1000));
      expect(violations).toEqual([]);
      await assertNoPublicAnnounced();
      expect(fixedProbe.closed()).toBe(0); // a channel on a fixed address survives ctdbd's restart
    }, 180_000);

    it('a client that reconnects to node 2 with the same GUID makes node 1 drop it', async () => {
      const guid = randomUUID();
      const first = Probe.start(clientNs(), guid, [cluster.node(1).address]);
      probes.push(first);
      await waitFor('connected to node 1', 10_000, () => (first.negotiated() === 1 ? true : undefined), 20);
      const second = Probe.start(clientNs(), guid, [cluster.node(2).address]);
      probes.push(second);
      await waitFor('connected to node 2', 10_000, () => (second.negotiated() === 1 ? true : undefined), 20);
      await waitFor('node 1 dropped the client', 10_000, () => (first.closed() === 1 ? true : undefined), 20);
      await new Promise((r) => setTimeout(r, 300));
      expect(second.closed()).toBe(0);
      expect(mccds[1]!.log()).toMatch(/connected to node 2: dropping it here/);
    });
  },
);
