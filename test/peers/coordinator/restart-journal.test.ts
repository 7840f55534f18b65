import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { createLogger } from '../../../coordinator/log.js';
import { writeStateFile } from '../../../coordinator/state-file.js';
import { waitFor } from '../../harness/netns.js';
import { freePort } from '../../harness/redis.js';
import { ENDED_BY_PEER, endWithin, watchEnd } from '../../harness/socket-end.js';
import { describePeer, notRoot } from '../../helpers/skip.js';

/**
 * kill -9 between a teardown's start and the next state write: the state file still has the client as
 * connected, the teardown journal has the teardown. The restarted mccd must carry the teardown out
 * (here a `dropped`: another node has the client), not take the client back.
 */
describePeer('a teardown cut short by kill -9 is carried out after the restart', notRoot(), () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcc-journal-'));
  const sockets: Socket[] = [];
  let node: Coordinator | undefined;
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the journaled client is torn down for its journaled reason (a torn last line is skipped)', async () => {
    const port = await freePort();
    // A live connection on "mccd's" port, held by this process as a worker or smbd would hold it.
    const server = createServer((s) => {
      s.on('error', () => undefined);
      sockets.push(s);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    sockets.push(client);
    await once(client, 'connect');
    const ended = watchEnd(client);
    await new Promise<void>((r) => server.close(() => r()) && setImmediate(r));
    const guid = randomUUID();
    const config = parseConfig({
      listen: [{ address: '127.0.0.1', port }],
      api: { socket: join(dir, 'api.sock') },
      backend: { kind: 'smbd', config: join(dir, 'smb.conf'), logDir: join(dir, 'log') },
      cluster: { backend: 'single-node' },
      log: { level: process.env.MCC_TEST_LOG ?? 'fatal' },
    });
    const tuple = {
      localAddress: '127.0.0.1',
      localPort: port,
      remoteAddress: '127.0.0.1',
      remotePort: client.localPort!,
    };
    await writeStateFile(
      config.state.file,
      {
        version: 1,
        writtenAt: Date.now() - 100,
        pid: 1,
        pnn: 0,
        backend: 'smbd',
        clients: [
          {
            clientGuid: guid,
            state: 'active',
            owner: { kind: 'smbd', id: 'smbd' },
            channels: [{ id: 1, state: 'active', tuple, transport: 'tcp', onPublicIp: false, createdAt: 1 }],
            nextChannelId: 2,
            createdAt: 1,
          },
        ],
      },
      1 << 20,
    );
    writeFileSync(
      `${config.state.file}.teardowns`,
      `${JSON.stringify({ clientGuid: guid, reason: { kind: 'dropped', toNode: 1 }, at: Date.now() })}\n{"clientGuid":"torn`,
    );
    node = new Coordinator(config, createLogger(config.log.level));
    await node.start();
    expect(node.restore).toMatchObject({
      outcome: 'restored',
      clients: { restored: 1, kept: 0, dropped: 1 },
      dropped: { 'teardown interrupted by the restart, carried out': 1 },
    });
    expect(await endWithin(ended, 10_000, 'the dropped client’s channel')).toMatch(ENDED_BY_PEER);
    // Carried out and written: the entry must not tear the client down again at the next restart.
    await waitFor('state written', 5000, () => (node!.stateWriter?.last ? true : undefined), 20);
    expect(readFileSync(`${config.state.file}.teardowns`, 'utf8')).toBe('');
  });
});
