import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort as freeBenchPort, type Running, startMccd } from '../../../bench/procs.js';
import { SimulatedCluster } from '../../../ctdb/index.js';
import { buildNegotiateRequest, Dialect, frame } from '../../../wire/index.js';
import { negotiateChannel } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { TestRedis } from '../../harness/redis.js';
import { ENDED_BY_PEER, endWithin } from '../../harness/socket-end.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';

/**
 * Someone who has seen a victim's ClientGUID (it travels in clear text in every NEGOTIATE) against two
 * real mccd processes with reference workers, on a Redis-simulated cluster (real redis-server): node 0
 * has the fixed address 127.0.0.1 and the public IP 127.0.0.2, node 1 listens on 127.0.0.3. The victim
 * connects from 127.0.0.10, the attacker from 127.0.0.20.
 */
const FIXED = '127.0.0.1';
const PUBLIC = '127.0.0.2';
const NODE1 = '127.0.0.3';
const VICTIM = '127.0.0.10';
const ATTACKER = '127.0.0.20';
const PER_ADDRESS = 8;

function metric(api: string, pattern: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ socketPath: api, path: '/metrics' }, (res) => {
      let t = '';
      res.on('data', (d) => {
        t += d;
      });
      res.on('end', () => resolve(Number(pattern.exec(t)?.[1] ?? 0)));
    }).on('error', reject);
  });
}

/** Whether `closed` stays unresolved for `ms`. */
async function staysOpen(closed: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), ms))]);
}

describePeer('a spoofed ClientGUID against real mccd processes', missingPrograms('redis-server'), () => {
  let redis: TestRedis;
  let sim: SimulatedCluster;
  let node0: Running & { api: string };
  let node1: Running & { api: string };
  let port0: number;

  beforeAll(async () => {
    redis = await TestRedis.start();
    // mccd's redis mode always uses the cluster name "mcc" (coordinator/cluster-start.ts).
    sim = await SimulatedCluster.create(redis.url, 'mcc', [{ address: FIXED }, { address: NODE1 }], [PUBLIC]);
    port0 = await freeBenchPort();
    const limits = { maxChannelsPerClientAddress: PER_ADDRESS };
    node0 = await startMccd({
      listen: [
        { address: FIXED, port: port0 },
        { address: PUBLIC, port: port0 },
      ],
      extra: { cluster: { backend: 'redis', redisUrl: redis.url, pnn: 0 }, limits },
    });
    node1 = await startMccd({
      listen: [{ address: NODE1, port: 0 }],
      extra: { cluster: { backend: 'redis', redisUrl: redis.url, pnn: 1 }, limits },
    });
  }, 60_000);
  afterAll(async () => {
    await node0?.stop();
    await node1?.stop();
    await sim?.close();
    await redis?.stop();
  });

  const victimChannels = async (guid: string) => {
    const rows = await new Promise<{ clientGuid: string }[]>((resolve, reject) =>
      get({ socketPath: node0.api, path: '/v1/channels' }, (res) => {
        let t = '';
        res.on('data', (d) => {
          t += d;
        });
        res.on('end', () => resolve(JSON.parse(t)));
      }).on('error', reject),
    );
    return rows.filter((r) => r.clientGuid === guid).length;
  };

  it('(b) a channel opened with the victim’s GUID on a public IP and closed (FIN, then a reset) ends only that channel; the release of the IP still ends the victim', async () => {
    const g = randomUUID();
    const onPublic = await negotiateChannel({
      host: PUBLIC,
      port: port0,
      clientGuid: g,
      localAddress: VICTIM,
    });
    const onFixed = await negotiateChannel({ host: FIXED, port: port0, clientGuid: g, localAddress: VICTIM });
    expect(await victimChannels(g)).toBe(2);
    // The attacker's orderly close...
    const fin = await negotiateChannel({ host: PUBLIC, port: port0, clientGuid: g, localAddress: ATTACKER });
    fin.socket.end();
    // ...and a reset (SO_LINGER 0), which a client can send as easily as ctdb's releaseip does.
    const rst = await negotiateChannel({ host: PUBLIC, port: port0, clientGuid: g, localAddress: ATTACKER });
    rst.socket.resetAndDestroy();
    // Past the 2 s after which mccd asks the cluster whether the IP is still this node's.
    expect(await staysOpen(onPublic.closed, 3000)).toBe(true);
    expect(await staysOpen(onFixed.closed, 10)).toBe(true);
    expect(await victimChannels(g)).toBe(2);
    // The rule the spoof used to abuse still holds: releasing the IP ends every channel of the victim.
    const t0 = Date.now();
    await sim.moveIp(PUBLIC, 1);
    expect(await endWithin(onPublic.closed, 10_000, 'the victim’s channel on the public IP')).toMatch(
      ENDED_BY_PEER,
    );
    expect(await endWithin(onFixed.closed, 10_000, 'the victim’s channel on the fixed address')).toMatch(
      ENDED_BY_PEER,
    );
    process.stdout.write(
      `spoofed FIN and RST on the public IP: the victim kept both channels for 3 s; RELEASE_IP then ended both in ${Date.now() - t0} ms\n`,
    );
    await sim.moveIp(PUBLIC, 0);
    await waitFor('public IP back on node 0', 5000, async () =>
      (await sim.owners())[PUBLIC] === 0 ? true : undefined,
    );
  });

  it('(c) channels opened with the victim’s GUID from elsewhere cannot use up the victim’s allowance, and are counted', async () => {
    const g = randomUUID();
    const before = await metric(node0.api, /mcc_rejected_connections_total\{reason="channel-limit"\} (\d+)/);
    const own = [
      await negotiateChannel({ host: FIXED, port: port0, clientGuid: g, localAddress: VICTIM }),
      await negotiateChannel({ host: FIXED, port: port0, clientGuid: g, localAddress: VICTIM }),
    ];
    const attempts = await Promise.allSettled(
      Array.from({ length: PER_ADDRESS + 4 }, () =>
        negotiateChannel({ host: FIXED, port: port0, clientGuid: g, localAddress: ATTACKER }),
      ),
    );
    const taken = attempts.filter((a) => a.status === 'fulfilled').length;
    expect(taken).toBe(PER_ADDRESS);
    // The victim's next channels are still accepted: its own address has its own allowance.
    for (let i = 0; i < 3; i++)
      own.push(await negotiateChannel({ host: FIXED, port: port0, clientGuid: g, localAddress: VICTIM }));
    expect(await victimChannels(g)).toBe(5 + PER_ADDRESS);
    const refused =
      (await metric(node0.api, /mcc_rejected_connections_total\{reason="channel-limit"\} (\d+)/)) - before;
    expect(refused).toBe(4);
    for (const a of attempts) if (a.status === 'fulfilled') a.value.socket.destroy();
    for (const c of own) c.socket.destroy();
  });

  it('(a) as smbd: a NEGOTIATE with the victim’s GUID on another node drops the victim here only when it offers SMB 2.1 or later', async () => {
    const g = randomUUID();
    const victim = await negotiateChannel({ host: FIXED, port: port0, clientGuid: g, localAddress: VICTIM });
    const port1 = node1.port;
    // SMB 2.0.2 only: a ClientGUID means nothing there (smbd does not look it up either).
    const old = connect({ host: NODE1, port: port1, localAddress: ATTACKER });
    old.on('error', () => undefined);
    await new Promise((r) => old.once('connect', r));
    old.write(frame(buildNegotiateRequest({ clientGuid: g, dialects: [Dialect.SMB2_02] })));
    expect(await staysOpen(victim.closed, 1500)).toBe(true);
    old.destroy();
    // SMB 3: the ClientGUID moves to node 1, as smbd's smbXsrv_client_global would move it.
    const moved = await negotiateChannel({ host: NODE1, port: port1, clientGuid: g, localAddress: ATTACKER });
    expect(await endWithin(victim.closed, 10_000, 'the victim on node 0')).toMatch(ENDED_BY_PEER);
    moved.socket.destroy();
  });
});
