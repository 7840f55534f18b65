import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiGet, apiRequest } from '../../../cli/api-client.js';
import { openFdCount } from '../../../native/index.js';
import { buildNegotiateRequest, frame } from '../../../wire/index.js';
import {
  negotiateChannel,
  startTestMccd,
  startWorker,
  stopProcess,
  type TestMccd,
} from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { ENDED_BY_PEER, endWithin } from '../../harness/socket-end.js';

let mccd: TestMccd;
let port: number;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  mccd = await startTestMccd({ negotiate: { timeoutMs: 400, maxBytes: 4096 } });
  port = mccd.coordinator.frontDoor.addresses()[0]!.port;
  workers.push(
    await startWorker(mccd.config.backend.kind === 'worker' ? mccd.config.backend.socket : '', 'w1'),
  );
  workers.push(
    await startWorker(mccd.config.backend.kind === 'worker' ? mccd.config.backend.socket : '', 'w2'),
  );
});
afterAll(async () => {
  for (const w of workers) await stopProcess(w);
  await mccd.stop();
});

const api = () => ({ socketPath: mccd.config.api.socket });
const rejected = async (reason: string) => {
  const text = await mccd.coordinator.metrics.registry.getSingleMetricAsString(
    'mcc_rejected_connections_total',
  );
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

async function sendRaw(bytes: Uint8Array, endAfter = true): Promise<string> {
  const s = connect(port, '127.0.0.1');
  const closed = new Promise<string>((resolve) => {
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.once('close', () => resolve('close'));
  });
  await once(s, 'connect');
  if (bytes.byteLength) s.write(bytes);
  if (endAfter) s.end();
  return closed;
}

describe('mccd with the worker backend', () => {
  it('hands a channel to a worker process, which answers the NEGOTIATE mccd only peeked', async () => {
    const guid = randomUUID();
    const ch = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
    expect(ch.dialect).toBe(0x0311);
    await waitFor(
      'client active',
      3000,
      () => (mccd.coordinator.registry.view(guid)?.state === 'active' ? true : undefined),
      10,
    );
    const clients = await apiGet<{ clientGuid: string; owner: { kind: string; pid: number } }[]>(
      api(),
      '/v1/clients',
    );
    const me = clients.find((c) => c.clientGuid === guid)!;
    expect(me.owner.kind).toBe('worker');
    expect(workers.map((w) => w.pid)).toContain(me.owner.pid);
    ch.socket.destroy();
  });

  it('every channel of one ClientGUID goes to the same worker; clients spread over workers', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const chans = [
      await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a }),
      await negotiateChannel({ host: '127.0.0.1', port, clientGuid: b }),
      await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a }),
      await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a }),
    ];
    const owner = (g: string) => mccd.coordinator.registry.view(g)?.context.owner?.id;
    expect(mccd.coordinator.registry.view(a)?.context.channels.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(owner(a)).toBeDefined();
    expect(owner(b)).not.toBe(owner(a));
    for (const c of chans) c.socket.destroy();
    await waitFor(
      'both clients gone after their channels closed',
      3000,
      () => (!mccd.coordinator.registry.has(a) && !mccd.coordinator.registry.has(b) ? true : undefined),
      10,
    );
  });

  it('closes SMB1, garbage, oversized, truncated and silent connections with their reason counted, and keeps serving', async () => {
    const before = {
      smb1: await rejected('smb1'),
      notSmb2: await rejected('not-smb2'),
      over: await rejected('oversized'),
      timeout: await rejected('timeout'),
      trunc: (await rejected('eof')) + (await rejected('truncated')),
    };
    const smb1 = Uint8Array.from([0, 0, 0, 0x23, 0xff, 0x53, 0x4d, 0x42, 0x72, ...new Array(31).fill(0)]);
    // Closed by mccd: a FIN, or a reset when the unread bytes are thrown away with the socket.
    const closedByMccd = expect.stringMatching(/^(close|ECONNRESET)$/);
    expect(await sendRaw(smb1, false)).toEqual(closedByMccd);
    expect(await sendRaw(Buffer.from('GET / HTTP/1.1\r\n\r\n'), false)).toEqual(closedByMccd);
    expect(await sendRaw(Uint8Array.of(0, 0x7f, 0xff, 0xff, 0xfe, 0x53, 0x4d, 0x42), false)).toEqual(
      closedByMccd,
    );
    expect(await sendRaw(frame(buildNegotiateRequest({ clientGuid: randomUUID() })).subarray(0, 40))).toEqual(
      closedByMccd,
    );
    expect(await sendRaw(new Uint8Array(0), false)).toEqual(closedByMccd); // says nothing: closed at the deadline
    expect(await rejected('smb1')).toBe(before.smb1 + 1);
    expect(await rejected('not-smb2')).toBe(before.notSmb2 + 1);
    expect(await rejected('oversized')).toBe(before.over + 1);
    expect(await rejected('timeout')).toBe(before.timeout + 1);
    expect((await rejected('eof')) + (await rejected('truncated'))).toBe(before.trunc + 1);
    const ok = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: randomUUID() });
    expect(ok.dialect).toBe(0x0311);
    ok.socket.destroy();
  });

  it('an operator teardown closes every channel of that client and no other', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const a1 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a });
    const a2 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: a });
    const b1 = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: b });
    await apiRequest(api(), 'POST', `/v1/clients/${a}/teardown`);
    expect(await endWithin(a1.closed, 5000, "a's first channel")).toMatch(ENDED_BY_PEER);
    expect(await endWithin(a2.closed, 5000, "a's second channel")).toMatch(ENDED_BY_PEER);
    await new Promise((r) => setTimeout(r, 100));
    expect(b1.socket.destroyed).toBe(false);
    expect(mccd.coordinator.registry.view(b)?.state).toBe('active');
    b1.socket.destroy();
  });

  it('a worker that dies takes down exactly its clients, and mccd keeps no fd of theirs', async () => {
    const fdsBefore = openFdCount();
    const victim = await startWorker(
      mccd.config.backend.kind === 'worker' ? mccd.config.backend.socket : '',
      'w3',
    );
    // Three new clients over three idle workers: least-loaded placement gives each worker one.
    const chans = await Promise.all(
      [randomUUID(), randomUUID(), randomUUID()].map(async (clientGuid) => ({
        clientGuid,
        ch: await negotiateChannel({ host: '127.0.0.1', port, clientGuid }),
      })),
    );
    const owners = chans.map(
      ({ clientGuid }) => mccd.coordinator.registry.view(clientGuid)?.context.owner?.id,
    );
    expect(new Set(owners)).toEqual(new Set(['w1', 'w2', 'w3']));
    const onVictim = chans[owners.indexOf('w3')]!;
    const others = chans.filter((c) => c !== onVictim);
    const g = onVictim.clientGuid;
    const ch = onVictim.ch;
    await stopProcess(victim);
    expect(await endWithin(ch.closed, 5000, "the dead worker's channel")).toMatch(ENDED_BY_PEER);
    await waitFor(
      'client of the dead worker gone',
      5000,
      () => (!mccd.coordinator.registry.has(g) ? true : undefined),
      10,
    );
    for (const o of others) expect(o.ch.socket.destroyed).toBe(false);
    for (const o of others) o.ch.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(openFdCount()).toBeLessThanOrEqual(fdsBefore);
  });

  it('a worker gets the FSCTL_QUERY_NETWORK_INTERFACE_INFO answer from mccd over the worker protocol', async () => {
    const { WorkerClient } = await import('../../../coordinator/worker/client.js');
    const { interfaceInfoPull, unwrap } = await import('../../../wire/index.js');
    const socket = mccd.config.backend.kind === 'worker' ? mccd.config.backend.socket : '';
    const w = await WorkerClient.connect(socket, 'iface-asker');
    const bytes = await w.interfaces('127.0.0.1');
    const list = unwrap(interfaceInfoPull(bytes));
    const expected = mccd.coordinator.discovery.current().announced.map((a) => a.address);
    // Loopback is not among the announced addresses (includeLoopback is off), nor one to add for a requester.
    expect(list.map((e) => e.address)).toEqual(expected);
    expect(Buffer.from(bytes).equals(Buffer.from(mccd.coordinator.discovery.answerFor('127.0.0.1')))).toBe(
      true,
    );
    w.close();
  });

  it('serves status, interfaces and Prometheus metrics on the root-only socket', async () => {
    const status = await apiGet<{ mode: { kind: string }; backend: { workers: unknown[] } }>(
      api(),
      '/v1/status',
    );
    expect(status.mode.kind).toBe('single-node');
    expect(status.backend.workers.length).toBeGreaterThanOrEqual(2);
    const ifs = await apiGet<{ smbConf: string; clusterKnown: boolean }>(api(), '/v1/interfaces');
    expect(ifs.clusterKnown).toBe(true);
    expect(ifs.smbConf).toMatch(/^interfaces = /);
    const metrics = await new Promise<string>((resolve) => {
      import('node:http').then(({ get }) =>
        get({ socketPath: mccd.config.api.socket, path: '/metrics' }, (res) => {
          let t = '';
          res.on('data', (d) => {
            t += d;
          });
          res.on('end', () => resolve(t));
        }),
      );
    });
    expect(metrics).toMatch(/mcc_handoffs_total\{backend="worker"\} \d+/);
    expect(metrics).toMatch(/mcc_teardown_latency_seconds_bucket/);
  });
});
