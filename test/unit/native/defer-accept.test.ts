import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fdOf, setDeferAccept } from '../../../native/index.js';

/** TCP_DEFER_ACCEPT on a listener (negotiate.deferAccept). */
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function listen(defer: number | undefined): Promise<{ port: number; accepted: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    s.on('error', () => undefined);
    accepted.push(s);
    sockets.push(s);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  if (defer !== undefined) setDeferAccept(fdOf(server as unknown as net.Socket), defer);
  return { port: (server.address() as net.AddressInfo).port, accepted };
}

function dial(port: number): net.Socket {
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => undefined);
  sockets.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TCP_DEFER_ACCEPT', () => {
  it('a silent connection is not accepted; one that sends is, at once', async () => {
    const { port, accepted } = await listen(5);
    const silent = dial(port);
    await once(silent, 'connect');
    await sleep(300);
    expect(accepted).toHaveLength(0);
    const speaking = dial(port);
    speaking.once('connect', () => speaking.write('x'));
    const t0 = Date.now();
    while (accepted.length === 0 && Date.now() - t0 < 2000) await sleep(10);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.remotePort).toBe(speaking.localPort);
  });

  it('without it a silent connection is accepted', async () => {
    const { port, accepted } = await listen(undefined);
    await once(dial(port), 'connect');
    const t0 = Date.now();
    while (accepted.length === 0 && Date.now() - t0 < 2000) await sleep(10);
    expect(accepted).toHaveLength(1);
  });

  it('refuses a negative fd with a typed error', () => {
    expect(() => setDeferAccept(-1, 5)).toThrow(
      expect.objectContaining({ name: 'NativeError', code: 'EINVAL' }),
    );
  });
});
