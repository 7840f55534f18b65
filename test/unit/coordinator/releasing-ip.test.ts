import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_HOLD_MS, ReleasingIps } from '../../../coordinator/releasing-ips.js';
import type { ClusterView, ClusterViewEvents, NodeInfo, PublicIp } from '../../../ctdb/cluster-view.js';
import {
  negotiateChannel,
  startTestMccd,
  startWorker,
  stopProcess,
  type TestMccd,
} from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { watchEnd } from '../../harness/socket-end.js';

const PUBLIC = '127.0.0.2';

/** A ctdbd view holding one public IP on node 0, whose events the test sends. */
class OneIpCtdbd extends EventEmitter<ClusterViewEvents> implements ClusterView {
  readonly kind = 'ctdbd' as const;
  readonly pnn = 0;
  readonly connected = true;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async nodeMap(): Promise<NodeInfo[]> {
    return [{ pnn: 0, flags: 0, flagNames: [], address: '127.0.0.1', ok: true }];
  }
  async publicIps(): Promise<PublicIp[]> {
    return [{ address: PUBLIC, owner: 0 }];
  }
  async sendToNode(): Promise<void> {}
}

describe('ReleasingIps', () => {
  it('refuses an IP from its release until it is taken, and forgets a release never followed by a take', () => {
    let now = 1000;
    const r = new ReleasingIps(() => now);
    expect(r.has(PUBLIC)).toBe(false);
    r.released(PUBLIC);
    expect(r.has(PUBLIC)).toBe(true);
    expect(r.has('127.0.0.1')).toBe(false);
    r.taken(PUBLIC);
    expect(r.has(PUBLIC)).toBe(false);
    r.released('fd00::0:1');
    expect(r.has('fd00::1')).toBe(true);
    now += RELEASE_HOLD_MS;
    expect(r.has('fd00::1')).toBe(false);
    r.released('not an address');
    expect(r.has('not an address')).toBe(true);
  });
});

describe('a public IP being released', () => {
  let mccd: TestMccd;
  let worker: ChildProcess;
  const cluster = new OneIpCtdbd();
  let fixedPort = 0;
  let publicPort = 0;

  beforeAll(async () => {
    mccd = await startTestMccd(
      {
        listen: [
          { address: '127.0.0.1', port: 0 },
          { address: PUBLIC, port: 0 },
        ],
      },
      cluster,
    );
    worker = await startWorker((mccd.config.backend as { socket: string }).socket, 'w');
    const ports = mccd.coordinator.frontDoor.addresses();
    fixedPort = ports.find((a) => a.address === '127.0.0.1')!.port;
    publicPort = ports.find((a) => a.address === PUBLIC)!.port;
  });
  afterAll(async () => {
    await stopProcess(worker);
    await mccd?.stop();
  });

  const rejected = async () => {
    const text = await mccd.coordinator.metrics.registry.getSingleMetricAsString(
      'mcc_rejected_connections_total',
    );
    return Number(/reason="ip-releasing"} (\d+)/.exec(text)?.[1] ?? 0);
  };

  it('takes no connection to it from the releaseip event until the take (a client reset by the release must not come back here), and closes those still waiting for their NEGOTIATE', async () => {
    const guid = randomUUID();
    const onPublic = await negotiateChannel({ host: PUBLIC, port: publicPort, clientGuid: guid });
    const onFixed = await negotiateChannel({ host: '127.0.0.1', port: fixedPort, clientGuid: guid });
    // A connection that has sent part of a frame: accepted, peeked at, waiting.
    const silent = connect({ host: PUBLIC, port: publicPort });
    const silentEnd = watchEnd(silent);
    silent.write(Buffer.from([0, 0]));
    await waitFor('the partial connection pending', 3000, () =>
      mccd.coordinator.frontDoor.pendingCount() === 1 ? true : undefined,
    );

    // As 09.mcc.script delivers it: before 10.interface removes the address.
    mccd.coordinator.onScriptEvent('releaseip', ['lo', PUBLIC, '8']);
    await silentEnd;
    await onPublic.closed;
    await onFixed.closed;
    await expect(negotiateChannel({ host: PUBLIC, port: publicPort, clientGuid: guid })).rejects.toThrow(
      /closed before/,
    );
    // Other addresses are not concerned.
    const elsewhere = await negotiateChannel({
      host: '127.0.0.1',
      port: fixedPort,
      clientGuid: randomUUID(),
    });
    expect(await rejected()).toBe(2);

    // ctdbd's own RELEASE_IP comes after the release: still refused.
    cluster.emit('event', { type: 'ip-released', ip: PUBLIC, pnn: 0, at: Date.now() });
    await expect(
      negotiateChannel({ host: PUBLIC, port: publicPort, clientGuid: randomUUID() }),
    ).rejects.toThrow(/closed before/);

    cluster.emit('event', { type: 'ip-taken', ip: PUBLIC, pnn: 0, at: Date.now() });
    const back = await negotiateChannel({ host: PUBLIC, port: publicPort, clientGuid: guid });
    expect(await rejected()).toBe(3);
    back.socket.destroy();
    elsewhere.socket.destroy();
  });

  it('takes connections again on the takeip event', async () => {
    cluster.emit('event', { type: 'ip-released', ip: PUBLIC, pnn: 0, at: Date.now() });
    await expect(
      negotiateChannel({ host: PUBLIC, port: publicPort, clientGuid: randomUUID() }),
    ).rejects.toThrow(/closed before/);
    mccd.coordinator.onScriptEvent('takeip', ['lo', PUBLIC, '8']);
    const back = await negotiateChannel({ host: PUBLIC, port: publicPort, clientGuid: randomUUID() });
    back.socket.destroy();
  });
});
