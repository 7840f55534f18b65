import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { WorkerClient } from '../../../coordinator/worker/client.js';
import { runReferenceWorker } from '../../../coordinator/worker/reference-worker.js';
import { closeFd, connectCarrier, type SeqpacketCarrier, SeqpacketServer } from '../../../native/index.js';
import { buildNegotiateRequest, frame } from '../../../wire/index.js';
import { negotiateChannel } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';

// Protocol version 2 (docs/worker-protocol.md): a worker's channel reports batched in one `reports`
// message, each judged as if it came alone; a version 1 worker still gets exactly version 1.

const dir = join(tmpdir(), `mcc-reports-${process.pid}`);
const socketPath = `${dir}/workers.sock`;
let coordinator: Coordinator;
let port: number;
const sockets: Socket[] = [];
const carriers: SeqpacketCarrier[] = [];

interface Raw {
  carrier: SeqpacketCarrier;
  received: { t: string; message?: string; version?: number; clientGuid?: string; channelId?: number }[];
  send: (m: unknown) => Promise<void>;
}

async function raw(id: string, version: 1 | 2): Promise<Raw> {
  const carrier = connectCarrier(socketPath, { maxBytes: 128 * 1024, maxFds: 4 });
  carriers.push(carrier);
  const r: Raw = { carrier, received: [], send: (m) => carrier.send(Buffer.from(JSON.stringify(m))) };
  carrier.on('message', ({ data, fds }) => {
    for (const fd of fds) closeFd(fd);
    r.received.push(JSON.parse(data.toString()));
  });
  await r.send({ t: 'register', version, workerId: id });
  await waitFor(`${id} registered`, 3000, () => r.received.find((m) => m.t === 'registered'), 10);
  return r;
}

const bad = async (reason: string) => {
  const text = await coordinator.metrics.registry.getSingleMetricAsString('mcc_worker_bad_messages_total');
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

/** A client that sends its NEGOTIATE and waits to be handed to `owner`. */
async function handedTo(owner: Raw, guid: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(frame(buildNegotiateRequest({ clientGuid: guid })));
  await waitFor('handed off', 3000, () => owner.received.find((m) => m.clientGuid === guid), 10);
}

beforeAll(async () => {
  const config = parseConfig({
    listen: [{ address: '127.0.0.1', port: 0 }],
    api: { socket: `${dir}/api.sock` },
    backend: { kind: 'worker', socket: socketPath },
    cluster: { backend: 'single-node' },
  });
  coordinator = new Coordinator(config, pino({ level: 'silent' }));
  await coordinator.start();
  port = coordinator.frontDoor.addresses()[0]!.port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const c of carriers) c.close();
  await coordinator.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('worker protocol version 2: batched reports', () => {
  it('a version 1 worker gets version 1: no version in registered, reports refused, single reports work', async () => {
    const v1 = await raw('v1', 1);
    expect(v1.received.find((m) => m.t === 'registered')).not.toHaveProperty('version');
    const guid = randomUUID();
    await handedTo(v1, guid);
    const malformed = await bad('malformed');
    await v1.send({
      t: 'reports',
      reports: [{ t: 'negotiated', clientGuid: guid, channelId: 1, dialect: 0x311 }],
    });
    await waitFor('refusal', 3000, () => v1.received.find((m) => m.t === 'error'), 10);
    expect(v1.received.find((m) => m.t === 'error')?.message).toMatch(/needs protocol version 2/);
    expect(await bad('malformed')).toBe(malformed + 1);
    expect(coordinator.registry.view(guid)?.state).toBe('negotiating');
    await v1.send({ t: 'negotiated', clientGuid: guid, channelId: 1, dialect: 0x311 });
    await waitFor(
      'active',
      3000,
      () => (coordinator.registry.view(guid)?.state === 'active' ? 1 : undefined),
      10,
    );
    v1.carrier.close();
    await waitFor('v1 gone', 3000, () => (coordinator.registry.has(guid) ? undefined : 1), 10);
  });

  it("each report of a batch is judged alone: its own are acted on, another's refused one by one", async () => {
    const v2 = await raw('v2', 2);
    expect(v2.received.find((m) => m.t === 'registered')?.version).toBe(2);
    const [mine, other] = [randomUUID(), randomUUID()];
    await handedTo(v2, mine);
    const notOwner = await bad('not-owner');
    await v2.send({
      t: 'reports',
      reports: [
        { t: 'negotiated', clientGuid: mine, channelId: 1, dialect: 0x302 },
        { t: 'negotiated', clientGuid: other, channelId: 1, dialect: 0x302 },
        { t: 'bound', clientGuid: mine, channelId: 2 },
      ],
    });
    await waitFor(
      'two refusals',
      3000,
      () => (v2.received.filter((m) => m.t === 'error').length >= 2 ? 1 : undefined),
      10,
    );
    expect(await bad('not-owner')).toBe(notOwner + 2);
    expect(coordinator.registry.view(mine)).toMatchObject({ state: 'active', context: { dialect: 0x302 } });
    await v2.send({ t: 'reports', reports: [{ t: 'channel-closed', clientGuid: mine, channelId: 1 }] });
    await waitFor('closed', 3000, () => (coordinator.registry.has(mine) ? undefined : 1), 10);
    // A batch beyond MAX_REPORTS, or an empty one, is malformed as a whole.
    const malformed = await bad('malformed');
    await v2.send({ t: 'reports', reports: [] });
    await waitFor('refused', 3000, async () => ((await bad('malformed')) > malformed ? 1 : undefined), 10);
    v2.carrier.close();
  });

  it('the reference worker speaks version 2 and gathers the reports of one turn into one message', async () => {
    const client: WorkerClient = await runReferenceWorker(socketPath, 'ref');
    try {
      expect(client.version).toBe(2);
      const sent: string[] = [];
      const carrier = (client as unknown as { carrier: SeqpacketCarrier }).carrier;
      const original = carrier.send.bind(carrier);
      const spy = vi.spyOn(carrier, 'send').mockImplementation((data, fds) => {
        sent.push(JSON.parse(Buffer.from(data).toString()).t);
        return original(data, fds);
      });
      const guids = Array.from({ length: 16 }, () => randomUUID());
      const channels = await Promise.all(
        guids.map((g) => negotiateChannel({ host: '127.0.0.1', port, clientGuid: g })),
      );
      await waitFor(
        'all active',
        5000,
        () => (guids.every((g) => coordinator.registry.view(g)?.state === 'active') ? 1 : undefined),
        10,
      );
      for (const c of channels) c.socket.destroy();
      await waitFor(
        'all gone',
        5000,
        () => (guids.some((g) => coordinator.registry.has(g)) ? undefined : 1),
        10,
      );
      spy.mockRestore();
      // 32 reports (16 negotiated, 16 channel-closed) in fewer datagrams than reports.
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.length).toBeLessThan(32);
      expect(sent).toContain('reports');
    } finally {
      client.close();
    }
  });
});

describe('a version 2 worker and a version 1 mccd', () => {
  it('offers 2, is refused as version 1 refuses it, registers with 1 and reports one by one', async () => {
    const path = `${dir}/old-mccd.sock`;
    const server = new SeqpacketServer(path, { maxBytes: 128 * 1024, maxFds: 4 });
    const got: { t: string; version?: number }[] = [];
    server.on('connection', (c) => {
      carriers.push(c);
      c.on('message', ({ data }) => {
        const m = JSON.parse(data.toString());
        got.push(m);
        // What a version 1 mccd answers (zod's literal check on `version`), and its registered.
        if (m.t === 'register' && m.version !== 1)
          void c.send(
            Buffer.from(
              JSON.stringify({
                t: 'error',
                message: 'worker message: version: Invalid literal value, expected 1',
              }),
            ),
          );
        else if (m.t === 'register')
          void c.send(Buffer.from(JSON.stringify({ t: 'registered', workerId: m.workerId, pnn: 0 })));
      });
    });
    try {
      const client = await WorkerClient.connect(path, 'new-worker', 3000);
      expect(client.version).toBe(1);
      client.reportNegotiated(randomUUID(), 1, 0x311);
      client.reportBound(randomUUID(), 1);
      await waitFor('reports', 3000, () => (got.length >= 4 ? 1 : undefined), 10);
      expect(got.map((m) => [m.t, m.version])).toEqual([
        ['register', 2],
        ['register', 1],
        ['negotiated', undefined],
        ['bound', undefined],
      ]);
      client.close();
    } finally {
      server.close();
    }
  });
});
