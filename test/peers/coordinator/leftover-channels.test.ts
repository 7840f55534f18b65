import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { startTestMccd, type TestMccd } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { freePort } from '../../harness/redis.js';
import { ENDED_BY_PEER, endWithin, watchEnd } from '../../harness/socket-end.js';
import { describePeer, notRoot } from '../../helpers/skip.js';

describePeer('a restarted mccd closes the channels a previous mccd left behind', notRoot(), () => {
  let mccd: TestMccd | undefined;
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await mccd?.stop();
  });

  async function connection(port: number) {
    const server = createServer((s) => {
      s.on('error', () => undefined);
      sockets.push(s);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const client = connect(port, '127.0.0.1');
    sockets.push(client);
    client.on('error', () => undefined);
    await once(client, 'connect');
    // The listener goes (as a killed mccd's does); the connection stays, as with smbd holding it.
    // (close()'s callback waits for the connections too, so it is not awaited.)
    server.close();
    await new Promise((r) => setImmediate(r));
    return client;
  }

  it('connections on its SMB port that it never accepted are closed at start-up; others are left alone', async () => {
    const port = await freePort();
    const other = await freePort();
    const leftover = await connection(port);
    const unrelated = await connection(other);
    const ended = watchEnd(leftover);
    mccd = await startTestMccd({ listen: [{ address: '127.0.0.1', port }] });
    // The server side is killed under its holder (this process): the client sees a reset or a FIN.
    expect(await endWithin(ended, 10_000, 'the leftover connection')).toMatch(ENDED_BY_PEER);
    const text = await mccd.coordinator.metrics.registry.getSingleMetricAsString(
      'mcc_leftover_channels_closed_total',
    );
    // Both ends of a loopback connection have the port as one of their two: only the server side counts.
    expect(Number(/ (\d+)$/m.exec(text)?.[1])).toBe(1);
    await waitFor('still open', 500, () => (unrelated.destroyed ? undefined : true), 50);
    expect(unrelated.destroyed).toBe(false);
  });
});
