import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeFd,
  destroySocket,
  fdOf,
  listTcpSockets,
  mapShared,
  memfdCreate,
  outq,
  outqNotSent,
  peerStillThere,
  rdmaCapableNetifs,
  smbdirectProbe,
  socketAddresses,
  tcpInfo,
} from '../../../native/index.js';
import { describePeer, notRoot } from '../../helpers/skip.js';

let server: net.Server;
let port: number;
const accepted: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer({ pauseOnConnect: true }, (s) => {
    // Several tests reset connections on purpose; the resets are asserted where they matter.
    s.on('error', () => {});
    accepted.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => {
  for (const s of accepted) s.destroy();
  server.close();
});

async function connectPair(): Promise<{ client: net.Socket; serverSide: net.Socket }> {
  const before = accepted.length;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  for (let i = 0; i < 100 && accepted.length === before; i++) await new Promise((r) => setTimeout(r, 5));
  return { client, serverSide: accepted[accepted.length - 1]! };
}

describe('TCP_INFO and queue sizes', () => {
  it('show unacknowledged and unsent data when the peer stops reading', async () => {
    const { client, serverSide } = await connectPair();
    const fd = fdOf(client);
    const info = tcpInfo(fd);
    expect(info.state).toBe(1);
    expect(info.length).toBeGreaterThanOrEqual(104);
    expect(info.rttUs).toBeGreaterThan(0);
    expect(outq(fd)).toBe(0);
    // The server side never reads (pauseOnConnect): fill its receive window and our send buffer.
    const chunk = Buffer.alloc(1 << 20, 1);
    for (let i = 0; i < 16; i++) client.write(chunk);
    await new Promise((r) => setTimeout(r, 200));
    expect(outq(fd)).toBeGreaterThan(0);
    expect(outqNotSent(fd)).toBeGreaterThan(0);
    expect(outqNotSent(fd)).toBeLessThanOrEqual(outq(fd));
    const later = tcpInfo(fd);
    expect(later.bytesAcked).toBeGreaterThan(0);
    expect(tcpInfo(fdOf(serverSide)).bytesReceived).toBeGreaterThan(0);
    client.destroy();
  });

  it('peerStillThere: ESTABLISHED until the peer closes (CLOSE_WAIT), as tcpInfo says', async () => {
    const { client, serverSide } = await connectPair();
    const fd = fdOf(serverSide);
    expect(peerStillThere(fd)).toBe(true);
    client.end();
    for (let i = 0; i < 100 && tcpInfo(fd).state === 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(tcpInfo(fd).state).toBe(8);
    expect(peerStillThere(fd)).toBe(false);
    expect(peerStillThere(-1)).toBe(false);
    client.destroy();
  });

  it('reads both addresses of a raw fd', async () => {
    const { client, serverSide } = await connectPair();
    const a = socketAddresses(fdOf(serverSide));
    expect(a.local).toMatchObject({ family: 'ipv4', address: '127.0.0.1', port });
    expect(a.remote.port).toBe(client.localPort);
    client.destroy();
  });
});

describePeer('SOCK_DESTROY by 4-tuple', notRoot(), () => {
  it('resets a loopback connection owned by a socket this code never touches', async () => {
    const { client, serverSide } = await connectPair();
    const listed = listTcpSockets({ localPort: port });
    expect(listed.some((s) => s.remotePort === client.localPort && s.stateName === 'ESTABLISHED')).toBe(true);
    expect(listed.every((s) => s.localPort === port)).toBe(true);
    const closed = new Promise<string>((resolve) => {
      client.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      client.on('close', () => resolve('close'));
    });
    const clientPort = client.localPort!;
    const result = destroySocket({ address: '127.0.0.1', port }, { address: '127.0.0.1', port: clientPort });
    expect(result).toBe('destroyed');
    client.resume();
    expect(await closed).toBe('ECONNRESET');
    // The connection is gone: the kernel's lookup would now land on the listener. It must survive.
    expect(destroySocket({ address: '127.0.0.1', port }, { address: '127.0.0.1', port: clientPort })).toBe(
      'not-found',
    );
    expect(listTcpSockets({ localPort: port, states: 1 << 10 })).toHaveLength(1);
    const again = await connectPair();
    expect(again.client.readyState).toBe('open');
    again.client.destroy();
    serverSide.destroy();
  });
});

describe('SMB-Direct and RDMA probes', () => {
  it('reports a userspace SMB-Direct socket as unavailable with the kernel errno', () => {
    const probe = smbdirectProbe();
    expect(probe.available).toBe(false);
    expect(probe.attempts).toHaveLength(2);
    for (const a of probe.attempts)
      expect(['EPROTONOSUPPORT', 'EAFNOSUPPORT', 'ESOCKTNOSUPPORT', 'EINVAL']).toContain(a.code);
    expect(probe.reason).toMatch(/AF_INET\/SOCK_STREAM\/263: E/);
  });

  it('maps netdevs to RDMA ports from a sysfs tree', () => {
    const root = mkdtempSync(join(tmpdir(), 'mcc-sysfs-'));
    try {
      const ndevs = (dev: string, port: number) => {
        const d = join(root, 'class/infiniband', dev, 'ports', String(port), 'gid_attrs/ndevs');
        mkdirSync(d, { recursive: true });
        return d;
      };
      writeFileSync(join(ndevs('mlx5_0', 1), '0'), 'eth1\n');
      writeFileSync(join(ndevs('mlx5_0', 1), '1'), 'eth1\n');
      writeFileSync(join(ndevs('rxe0', 1), '0'), 'eth2\n');
      writeFileSync(join(ndevs('rxe0', 1), '3'), '');
      expect(Object.fromEntries(rdmaCapableNetifs(root))).toEqual({
        eth1: [{ device: 'mlx5_0', port: 1 }],
        eth2: [{ device: 'rxe0', port: 1 }],
      });
      expect(rdmaCapableNetifs(join(root, 'nothing')).size).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('this kernel has no RDMA devices (no CONFIG_INFINIBAND)', () => {
    expect(rdmaCapableNetifs().size).toBe(0);
  });
});

describe('shared memory', () => {
  it("two mappings of one memfd see each other's writes", () => {
    const fd = memfdCreate('mcc-test', 8192);
    const a = mapShared(fd);
    const b = mapShared(fd);
    a[4096] = 42;
    expect(b[4096]).toBe(42);
    expect(b.byteLength).toBe(8192);
    closeFd(fd);
  });
});
