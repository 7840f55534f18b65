import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { createLogger } from '../../../coordinator/log.js';
import type { ClusterView, ClusterViewEvents, NodeInfo, PublicIp } from '../../../ctdb/cluster-view.js';
import { negotiateChannel, startWorker, stopProcess } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';

/** A ctdbd view that is slow to list the public IPs, as a busy ctdbd in recovery is. */
class SlowCtdbd extends EventEmitter<ClusterViewEvents> implements ClusterView {
  readonly kind = 'ctdbd' as const;
  readonly pnn = 0;
  connected = true;
  constructor(private readonly delayMs: number) {
    super();
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async nodeMap(): Promise<NodeInfo[]> {
    return [{ pnn: 0, flags: 0, flagNames: [], address: '127.0.0.1', ok: true }];
  }
  async publicIps(): Promise<PublicIp[]> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return [];
  }
  async sendToNode(): Promise<void> {}
}

const dir = mkdtempSync(join(tmpdir(), 'mcc-restore-race-'));
let worker: ChildProcess | undefined;
let node: Coordinator | undefined;
afterAll(async () => {
  await stopProcess(worker);
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('a worker that re-registers while the restart still waits for ctdbd counts as back', async () => {
  const config = parseConfig({
    listen: [{ address: '127.0.0.1', port: 0 }],
    api: { socket: join(dir, 'api.sock') },
    backend: { kind: 'worker', socket: join(dir, 'workers.sock'), teardownAckMs: 1000 },
    // Shorter than the slow public IP listing: a worker seen only after it would be declared gone.
    state: { writeIntervalMs: 20, ownerWaitMs: 500 },
    log: { level: process.env.MCC_TEST_LOG ?? 'fatal' },
  });
  const start = async (delayMs: number) => {
    const c = new Coordinator(config, createLogger(config.log.level), { cluster: new SlowCtdbd(delayMs) });
    await c.start();
    return c;
  };
  node = await start(0);
  worker = await startWorker(join(dir, 'workers.sock'), 'w');
  const port = node.frontDoor.addresses()[0]!.port;
  const guid = randomUUID();
  const ch = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
  await waitFor('state written', 5000, () => (node!.stateWriter?.last?.clients === 1 ? true : undefined), 10);
  await node.stop();
  node = await start(1500);
  expect(node.restore).toMatchObject({ clients: { restored: 1, kept: 1, dropped: 0 }, dropped: {} });
  expect(ch.socket.destroyed).toBe(false);
  ch.socket.destroy();
});
