import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  negotiateChannel,
  startTestMccd,
  startWorker,
  stopProcess,
  type TestMccd,
} from '../../harness/mccd.js';
import { waitFor } from '../../harness/netns.js';
import { ENDED_BY_PEER, endWithin } from '../../harness/socket-end.js';
import { projectRoot } from '../../helpers/reference.js';

// Async on purpose: mccd runs in this process and must keep answering while the CLI waits.
const run = promisify(execFile);
let mccd: TestMccd;
let worker: ChildProcess;
let port: number;

function mcc(...args: string[]) {
  return run(
    process.execPath,
    [join(projectRoot, 'dist/cli/mcc.js'), ...args, '--socket', mccd.config.api.socket],
    { timeout: 20_000 },
  );
}

function untilActive(guid: string) {
  return waitFor(
    `client ${guid} active`,
    3000,
    () => (mccd.coordinator.registry.view(guid)?.state === 'active' ? true : undefined),
    10,
  );
}

beforeAll(async () => {
  mccd = await startTestMccd();
  port = mccd.coordinator.frontDoor.addresses()[0]!.port;
  worker = await startWorker((mccd.config.backend as { socket: string }).socket, 'cli-w');
});
afterAll(async () => {
  await stopProcess(worker);
  await mccd.stop();
});

describe('mcc operator commands against a running mccd', () => {
  it('status, clients and channels show a client and its channel (tables and --json)', async () => {
    const guid = randomUUID();
    const ch = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
    await untilActive(guid);
    const status = JSON.parse((await mcc('status', '--json')).stdout);
    expect(status).toMatchObject({ clients: 1, channels: 1, mode: { kind: 'single-node' } });
    expect((await mcc('status')).stdout).toMatch(/Cluster daemon:\s+none \(single-node mode\)/);
    const clients = JSON.parse((await mcc('clients', '--json')).stdout);
    expect(clients).toEqual([
      expect.objectContaining({ clientGuid: guid, state: 'active', dialect: 0x0311, channels: 1 }),
    ]);
    const table = (await mcc('channels')).stdout;
    expect(table.split('\n')[0]).toMatch(/^Node\s+Client GUID\s+Ch\s+State\s+Client IP\s+Server IP/);
    expect(table).toContain(guid);
    const rows = JSON.parse((await mcc('channels', '--json')).stdout);
    expect(rows[0]).toMatchObject({
      clientGuid: guid,
      channelId: 1,
      state: 'active',
      serverIp: '127.0.0.1',
      serverPort: port,
      clientInterfaceIndex: null,
    });
    ch.socket.destroy();
  });

  it('events prints transitions as they happen, and teardown ends a client', async () => {
    const guid = randomUUID();
    // --follow and a stop once the teardown is printed: a fixed listening window or a fixed wait for the
    // subscription loses events whenever the machine is slow to start a process.
    const subscribed = mccd.coordinator.listenerCount('event');
    const events = spawn(process.execPath, [
      join(projectRoot, 'dist/cli/mcc.js'),
      'events',
      '--follow',
      '--json',
      '--socket',
      mccd.config.api.socket,
    ]);
    let printed = '';
    events.stdout.setEncoding('utf8').on('data', (d: string) => {
      printed += d;
    });
    const lines = () =>
      printed
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    try {
      await waitFor(
        'mcc events subscribed',
        15_000,
        () => (mccd.coordinator.listenerCount('event') > subscribed ? true : undefined),
        10,
      );
      const ch = await negotiateChannel({ host: '127.0.0.1', port, clientGuid: guid });
      await untilActive(guid);
      const answer = JSON.parse((await mcc('teardown', guid)).stdout);
      expect(answer).toEqual({ clientGuid: guid, state: 'tearingDown' });
      expect(await endWithin(ch.closed, 5000, 'the torn-down channel')).toMatch(ENDED_BY_PEER);
      await waitFor(
        'the teardown printed',
        15_000,
        () => (lines().some((e) => e.kind === 'teardown' && e.clientGuid === guid) ? true : undefined),
        10,
      );
    } finally {
      events.kill();
    }
    const mine = lines()
      .filter((e) => e.kind === 'transition' && e.record.clientGuid === guid)
      .map((e) => e.record.to);
    expect(mine).toEqual(expect.arrayContaining(['negotiating', 'active', 'tearingDown']));
    expect(lines().some((e) => e.kind === 'teardown' && e.clientGuid === guid)).toBe(true);
  });

  it('probe takes HOST:PORT as people type it, and negotiates through mccd', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(projectRoot, 'dist/cli/mcc.js'), 'probe', '--to', `127.0.0.1:${port}`, '--hold', '1'],
      { timeout: 20_000 },
    );
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'negotiated', server: '127.0.0.1', dialect: 0x0311 });
    expect(events.at(-1)).toMatchObject({ event: 'all-closed' });
    await expect(
      run(process.execPath, [join(projectRoot, 'dist/cli/mcc.js'), 'probe', '--to', '127.0.0.1:x']),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--to: expected HOST, HOST:PORT/) });
  });

  it('cluster channels answers for this node; a bad GUID for teardown is a clear error', async () => {
    const r = JSON.parse((await mcc('cluster', 'channels', '--json', '--timeout', '500')).stdout);
    expect(r.missing).toEqual([]);
    expect(Object.keys(r.nodes)).toEqual(['0']);
    await expect(mcc('teardown', randomUUID())).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/no client .* on this node/),
    });
  });
});
