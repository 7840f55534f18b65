import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterView, ClusterViewEvents, NodeInfo, PublicIp } from '../../../ctdb/cluster-view.js';
import {
  negotiateChannel,
  startTestMccd,
  startWorker,
  stopProcess,
  type TestMccd,
} from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';

/** A ctdbd view whose connection the test cuts and restores. */
class SwitchableCtdbd extends EventEmitter<ClusterViewEvents> implements ClusterView {
  readonly kind = 'ctdbd' as const;
  readonly pnn = 0;
  connected = true;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async nodeMap(): Promise<NodeInfo[]> {
    return [{ pnn: 0, flags: 0, flagNames: [], address: '127.0.0.1', ok: true }];
  }
  async publicIps(): Promise<PublicIp[]> {
    return [];
  }
  async sendToNode(): Promise<void> {}
}

let mccd: TestMccd;
let worker: ChildProcess;
const cluster = new SwitchableCtdbd();

beforeAll(async () => {
  mccd = await startTestMccd({}, cluster);
  worker = await startWorker((mccd.config.backend as { socket: string }).socket, 'w');
});
afterAll(async () => {
  await stopProcess(worker);
  await mccd.stop();
});

const rejected = async () => {
  const text = await mccd.coordinator.metrics.registry.getSingleMetricAsString(
    'mcc_rejected_connections_total',
  );
  return Number(/reason="cluster-lost"} (\d+)/.exec(text)?.[1] ?? 0);
};

it('takes no new channel while ctdbd is lost (it could split a client), keeps the ones it has, and takes them again once back', async () => {
  const port = mccd.coordinator.frontDoor.addresses()[0]!.port;
  const guid = randomUUID();
  const kept = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
  cluster.connected = false;
  await expect(negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid })).rejects.toThrow(
    /closed before/,
  );
  await expect(negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() })).rejects.toThrow(
    /closed before/,
  );
  expect(await rejected()).toBe(2);
  expect(kept.socket.destroyed).toBe(false);
  cluster.connected = true;
  const again = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
  await waitFor('two channels', 3000, () =>
    mccd.coordinator.registry.view(guid)?.context.channels.length === 2 ? true : undefined,
  );
  kept.socket.destroy();
  again.socket.destroy();
});
