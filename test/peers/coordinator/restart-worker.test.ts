import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { createLogger } from '../../../coordinator/log.js';
import { closeFd, connectCarrier, type SeqpacketCarrier } from '../../../native/index.js';
import { buildNegotiateRequest, frame } from '../../../wire/index.js';
import { waitFor } from '../../harness/netns.js';
import { ENDED_BY_PEER, endWithin, watchEnd } from '../../harness/socket-end.js';
import { describePeer, notRoot } from '../../helpers/skip.js';

/**
 * A worker that comes back after mccd's restart without saying what it kept (one that predates
 * `resuming`, or lost track): the channel it still holds is explained by nobody, so the restarted mccd
 * closes it instead of leaving a connection no RELEASE_IP would ever reach.
 */
describePeer('a channel a returning worker does not report is closed at restart', notRoot(), () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcc-restart-worker-'));
  const carriers: SeqpacketCarrier[] = [];
  const fds: number[] = [];
  let node: Coordinator | undefined;
  afterAll(async () => {
    for (const c of carriers) c.close();
    for (const fd of fds) closeFd(fd);
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the held but unreported channel is killed; the client reconnects', async () => {
    const config = parseConfig({
      listen: [{ address: '127.0.0.1', port: 0 }],
      api: { socket: join(dir, 'api.sock') },
      backend: { kind: 'worker', socket: join(dir, 'workers.sock'), teardownAckMs: 500 },
      cluster: { backend: 'single-node' },
      state: { writeIntervalMs: 20, ownerWaitMs: 3000 },
      log: { level: process.env.MCC_TEST_LOG ?? 'fatal' },
    });
    const register = async () => {
      const carrier = connectCarrier(join(dir, 'workers.sock'), { maxBytes: 128 * 1024, maxFds: 4 });
      carriers.push(carrier);
      let registered = false;
      carrier.on('message', (m) => {
        fds.push(...m.fds);
        if ((JSON.parse(m.data.toString()) as { t?: string }).t === 'registered') registered = true;
      });
      await carrier.send(Buffer.from(JSON.stringify({ t: 'register', version: 1, workerId: 'w' })));
      // mccd answers `registered` once it counts the worker: a client sooner than that is refused (no
      // worker), and with TCP_DEFER_ACCEPT the NEGOTIATE arrives with the accept, so it would be.
      await waitFor('registered', 5000, () => (registered ? true : undefined), 10);
      return carrier;
    };
    node = new Coordinator(config, createLogger(config.log.level));
    await node.start();
    await register();
    const port = node.frontDoor.addresses()[0]!.port;
    const guid = randomUUID();
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    const ended = watchEnd(client);
    await once(client, 'connect');
    client.write(frame(buildNegotiateRequest({ clientGuid: guid })));
    // The worker got the connection's fd and keeps it, as a worker serving the client would.
    await waitFor('handed off', 5000, () => (fds.length > 0 ? true : undefined), 10);
    await waitFor(
      'state written',
      5000,
      () => (node!.stateWriter?.last?.clients === 1 ? true : undefined),
      10,
    );
    await node.stop();
    node = new Coordinator(config, createLogger(config.log.level));
    const starting = node.start();
    // Back under the same id, but not as resuming: it reports nothing it kept.
    await waitFor('worker socket', 5000, async () => {
      try {
        await register();
        return true;
      } catch {
        return undefined;
      }
    });
    await starting;
    expect(node.restore).toMatchObject({ clients: { restored: 1, kept: 0, dropped: 1 }, unknownClosed: 1 });
    expect(await endWithin(ended, 10_000, 'the unreported channel')).toMatch(ENDED_BY_PEER);
  });
});
