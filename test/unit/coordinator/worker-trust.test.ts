import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, openSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { connectCarrier, type SeqpacketCarrier } from '../../../native/index.js';
import { buildNegotiateRequest, frame } from '../../../wire/index.js';
import { negotiateChannel, startWorker, stopProcess } from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';

// Any process with mccd's uid can connect to the worker socket: these are such processes, next to an
// honest worker process, trying to act on clients they were never handed.

const lines: { msg: string; reason?: string }[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
    done();
  },
});
let coordinator: Coordinator;
let socketPath: string;
let port: number;
let honest: ChildProcess;
const rogues: Rogue[] = [];
const sockets: Socket[] = [];

interface Rogue {
  carrier: SeqpacketCarrier;
  received: { t: string; message?: string; seq?: number }[];
  send: (m: unknown, fds?: number[]) => Promise<void>;
}

async function rogue(id?: string): Promise<Rogue> {
  const carrier = connectCarrier(socketPath, { maxBytes: 128 * 1024, maxFds: 4 });
  const r: Rogue = {
    carrier,
    received: [],
    send: (m, fds = []) => carrier.send(Buffer.from(JSON.stringify(m)), fds),
  };
  carrier.on('message', ({ data }) => r.received.push(JSON.parse(data.toString())));
  rogues.push(r);
  if (id) {
    await r.send({ t: 'register', version: 1, workerId: id });
    await waitFor(`${id} registered`, 3000, () => r.received.find((m) => m.t === 'registered'), 10);
  }
  return r;
}

const bad = async (reason: string) => {
  const text = await coordinator.metrics.registry.getSingleMetricAsString('mcc_worker_bad_messages_total');
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

/** A client connection that only sends its NEGOTIATE (its owner may never answer). */
async function rawClient(guid: string): Promise<{ socket: Socket; closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const closed = new Promise<string>((resolve) => {
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.once('close', () => resolve('close'));
  });
  await once(socket, 'connect');
  socket.write(frame(buildNegotiateRequest({ clientGuid: guid })));
  await waitFor('client owned', 3000, () => coordinator.registry.view(guid)?.context.owner, 10);
  return { socket, closed };
}

const dir = join(tmpdir(), `mcc-trust-${process.pid}`);

beforeAll(async () => {
  const config = parseConfig({
    listen: [{ address: '127.0.0.1', port: 0 }],
    api: { socket: `${dir}/api.sock` },
    backend: { kind: 'worker', socket: `${dir}/workers.sock`, teardownAckMs: 500 },
    cluster: { backend: 'single-node' },
  });
  coordinator = new Coordinator(config, pino({ level: 'info' }, sink));
  await coordinator.start();
  socketPath = `${dir}/workers.sock`;
  port = coordinator.frontDoor.addresses()[0]!.port;
  honest = await startWorker(socketPath, 'honest');
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const r of rogues) r.carrier.close();
  await stopProcess(honest);
  await coordinator.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('workers act only on the clients mccd handed them', () => {
  it("a rogue's negotiated and channel-closed for another worker's client change nothing", async () => {
    const guid = randomUUID();
    const victim = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
    sockets.push(victim.socket);
    await waitFor(
      'active',
      3000,
      () => (coordinator.registry.view(guid)?.state === 'active' ? 1 : undefined),
      10,
    );
    const dialect = coordinator.registry.view(guid)?.context.dialect;
    const before = await bad('not-owner');
    const r = await rogue('rogue-1');
    await r.send({ t: 'negotiated', clientGuid: guid, channelId: 1, dialect: 0x0202 });
    await r.send({ t: 'channel-closed', clientGuid: guid, channelId: 1 });
    await r.send({ t: 'bound', clientGuid: guid, channelId: 1 });
    await waitFor(
      'refusals',
      3000,
      () => (r.received.filter((m) => m.t === 'error').length >= 3 ? 1 : undefined),
      10,
    );
    expect(await bad('not-owner')).toBe(before + 3);
    expect(r.received.find((m) => m.t === 'error')?.message).toMatch(/was not handed to you/);
    const view = coordinator.registry.view(guid)!;
    expect(view.context.dialect).toBe(dialect);
    expect(view.context.channels).toHaveLength(1);
    expect(view.state).toBe('active');
    expect(victim.socket.destroyed).toBe(false);
    r.carrier.close();
  });

  it('guessed teardown-done answers do not end a teardown: the silent owner is bypassed and the connection killed', async () => {
    const mute = await rogue('mute'); // registered, never answers: it gets the next client
    const guid = randomUUID();
    const client = await rawClient(guid);
    expect(coordinator.registry.view(guid)?.context.owner?.id).toBe('mute');
    const r = await rogue('guesser');
    coordinator.teardownClient(guid, 'test');
    await waitFor('order sent', 3000, () => mute.received.find((m) => m.t === 'teardown'), 5);
    for (let seq = 0; seq <= 200; seq++)
      await r.send({ t: 'teardown-done', clientGuid: guid, seq }).catch(() => undefined);
    // The real seq, from another connection: still not an answer.
    const seq = mute.received.find((m) => m.t === 'teardown')!.seq;
    expect(seq).toBeGreaterThan(2 ** 20);
    await r.send({ t: 'teardown-done', clientGuid: guid, seq }).catch(() => undefined);
    expect(
      await Promise.race([client.closed, new Promise((res) => setTimeout(() => res('open'), 3000))]),
    ).not.toBe('open');
    expect(await bad('unknown-teardown')).toBeGreaterThanOrEqual(50);
    mute.carrier.close();
  });

  it('oversize and fd-carrying messages are answered, counted and logged', async () => {
    const r = await rogue('sender');
    const [over, fds] = [await bad('oversize'), await bad('fds')];
    await r.send({ t: 'interfaces-request', reqId: 1, localAddress: 'x'.repeat(140 * 1024) });
    const fd = openSync('/dev/null', 'r');
    await r.send({ t: 'interfaces-request', reqId: 2 }, [fd]);
    closeSync(fd);
    await waitFor(
      'two refusals',
      3000,
      () => (r.received.filter((m) => m.t === 'error').length >= 2 ? 1 : undefined),
      10,
    );
    expect(await bad('oversize')).toBe(over + 1);
    expect(await bad('fds')).toBe(fds + 1);
    expect(r.received.some((m) => m.t === 'interfaces')).toBe(false);
    expect(lines.some((l) => l.reason === 'fds')).toBe(true);
  });

  it('a second register is a clear error and the first registration stands', async () => {
    const r = await rogue('twice');
    await r.send({ t: 'register', version: 1, workerId: 'twice-again' });
    await waitFor('refusal', 3000, () => r.received.find((m) => m.t === 'error'), 10);
    expect(r.received.find((m) => m.t === 'error')?.message).toMatch(/already registered as twice/);
    expect(r.carrier.isClosed).toBe(false);
    expect((coordinator.backend.describe().workers as { id: string }[]).map((w) => w.id)).toContain('twice');
  });

  it('held reports: refused outside a resumption; a client mccd never restored is ordered closed, not adopted', async () => {
    const plain = await rogue('plain');
    const before = await bad('not-resuming');
    const guid = randomUUID();
    const channels = [
      { channelId: 1, local: { address: '127.0.0.1', port }, remote: { address: '127.0.0.1', port: 50000 } },
    ];
    await plain.send({ t: 'held', clientGuid: guid, channels });
    await waitFor('refusal', 3000, () => plain.received.find((m) => m.t === 'error'), 10);
    expect(await bad('not-resuming')).toBe(before + 1);

    const resuming = await rogue();
    await resuming.send({ t: 'register', version: 1, workerId: 'resuming', resuming: true });
    await waitFor('registered', 3000, () => resuming.received.find((m) => m.t === 'registered'), 10);
    await resuming.send({ t: 'held', clientGuid: guid, channels });
    const order = await waitFor(
      'teardown order',
      3000,
      () => resuming.received.find((m) => m.t === 'teardown'),
      10,
    );
    expect(order).toMatchObject({
      t: 'teardown',
      clientGuid: guid,
      reason: expect.stringMatching(/unmatched after restart/),
    });
    // Its answer is expected (no refusal), and the client was never adopted.
    await resuming.send({ t: 'teardown-done', clientGuid: guid, seq: order.seq });
    await resuming.send({ t: 'held-done', clients: 1 });
    await resuming.send({ t: 'held-done', clients: 1 }); // the resumption is over: refused
    await waitFor('one refusal', 3000, () => resuming.received.find((m) => m.t === 'error'), 10);
    expect(resuming.received.filter((m) => m.t === 'error')).toHaveLength(1);
    expect(await bad('not-resuming')).toBe(before + 2);
    expect(coordinator.registry.has(guid)).toBe(false);
  });

  it('a worker that keeps sending garbage is cut off, its clients torn down, and the log stays short', async () => {
    const r = await rogue('garbage');
    const guid = randomUUID();
    // Fewest clients wins: close the idle rogues so the garbage worker gets this client.
    for (const other of rogues.slice(0, -1)) other.carrier.close();
    await waitFor(
      'others gone',
      3000,
      () => (coordinator.backend.describe().workers as unknown[]).length === 2 || undefined,
      10,
    );
    const client = await rawClient(guid);
    expect(coordinator.registry.view(guid)?.context.owner?.id).toBe('garbage');
    const logged = lines.length;
    const cutOff = await bad('disconnected');
    for (let i = 0; i < 500 && !r.carrier.isClosed; i++)
      await r.send({ t: 'nonsense', i }).catch(() => undefined);
    await waitFor('cut off', 3000, () => (r.carrier.isClosed ? 1 : undefined), 10);
    expect(await bad('disconnected')).toBe(cutOff + 1);
    expect(
      await Promise.race([client.closed, new Promise((res) => setTimeout(() => res('open'), 3000))]),
    ).not.toBe('open');
    await waitFor('client gone', 3000, () => (coordinator.registry.has(guid) ? undefined : 1), 10);
    expect(lines.length - logged).toBeLessThan(10);
  });
});
