import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ENDED_BY_PEER, endWithin, watchEnd } from '../../harness/socket-end.js';

// The checker the close assertions rely on: it must tell the peer's close from our own and from none.
const open: (Socket | Server)[] = [];
afterEach(() => {
  for (const o of open.splice(0)) 'destroy' in o ? o.destroy() : o.close();
});

async function pair(): Promise<{ client: Socket; server: Socket }> {
  const srv = createServer();
  open.push(srv);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  client.on('data', () => undefined);
  const [server] = await accepted;
  open.push(client, server);
  return { client, server };
}

describe('watchEnd / endWithin', () => {
  it('a FIN from the peer reads as eof', async () => {
    const { client, server } = await pair();
    const ended = watchEnd(client);
    server.end();
    expect(await endWithin(ended, 2000, 'client')).toMatch(ENDED_BY_PEER);
  });

  it('a reset from the peer reads as ECONNRESET', async () => {
    const { client, server } = await pair();
    const ended = watchEnd(client);
    server.resetAndDestroy();
    expect(await endWithin(ended, 2000, 'client')).toBe('ECONNRESET');
  });

  it('closing it here is not an end by the peer', async () => {
    const { client } = await pair();
    const ended = watchEnd(client);
    client.destroy();
    expect(await endWithin(ended, 2000, 'client')).not.toMatch(ENDED_BY_PEER);
  });

  it('a channel nobody closes fails at the deadline, by name', async () => {
    const { client } = await pair();
    await expect(endWithin(watchEnd(client), 100, 'the idle channel')).rejects.toThrow(
      'the idle channel: still open after 100 ms',
    );
  });
});
