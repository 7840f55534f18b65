import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  InheritedSockets,
  inspectListenFds,
  parseListenFds,
  takeListenSockets,
} from '../../../coordinator/listen-fds.js';
import { dupFd, fdOf } from '../../../native/index.js';

describe('sd_listen_fds semantics', () => {
  it('no variables, or variables for another process: no sockets, and why', () => {
    expect(parseListenFds({}, 42)).toMatchObject({ ok: true, fds: [] });
    const other = parseListenFds({ LISTEN_PID: '41', LISTEN_FDS: '2' }, 42);
    expect(other).toMatchObject({ ok: true, fds: [], reason: 'LISTEN_PID 41 is not this process (42)' });
  });

  it('fds from 3, named by LISTEN_FDNAMES when it names each one', () => {
    expect(parseListenFds({ LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'smb:' }, 42)).toMatchObject({
      ok: true,
      fds: [
        { fd: 3, name: 'smb' },
        { fd: 4, name: undefined },
      ],
    });
    expect(parseListenFds({ LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'smb' }, 42)).toMatchObject({
      ok: false,
      error: { code: 'BAD_FDNAMES' },
    });
    expect(parseListenFds({ LISTEN_PID: '42', LISTEN_FDS: 'x' }, 42)).toMatchObject({
      ok: false,
      error: { code: 'BAD_LISTEN_FDS' },
    });
    expect(parseListenFds({ LISTEN_PID: '-1', LISTEN_FDS: '1' }, 42)).toMatchObject({
      ok: false,
      error: { code: 'BAD_LISTEN_PID' },
    });
  });

  it('the variables are consumed: smbd spawned later never sees them', () => {
    const env: Record<string, string | undefined> = {
      LISTEN_PID: '1',
      LISTEN_FDS: '1',
      LISTEN_FDNAMES: 'x',
      PATH: '/bin',
    };
    takeListenSockets(env, 42);
    expect(env).toEqual({ PATH: '/bin' });
  });
});

describe('inherited descriptors', () => {
  it('a listening TCP socket is adopted with its address (as a close-on-exec copy); anything else is refused', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const handed = dupFd(fdOf(server as unknown as import('node:net').Socket));
    const file = openSync('/dev/null', 'r');
    const { sockets, refused } = inspectListenFds([
      { fd: handed, name: 'smb' },
      { fd: file, name: undefined },
    ]);
    expect(sockets).toMatchObject([{ name: 'smb', address: '127.0.0.1', port }]);
    expect(sockets[0]!.fd).not.toBe(handed);
    expect(refused.map((r) => r.fd)).toEqual([file]);
    const inherited = new InheritedSockets({ sockets, refused: [], reason: 'test' });
    expect(inherited.fdFor({ address: '0.0.0.0', port })).toBeUndefined();
    expect(inherited.fdFor({ address: '127.0.0.1', port })).toBe(sockets[0]!.fd);
    expect(inherited.settle()).toMatchObject({ adopted: [`127.0.0.1:${port} (smb)`], unused: [] });
    closeSync(sockets[0]!.fd);
    server.close();
  });
});
