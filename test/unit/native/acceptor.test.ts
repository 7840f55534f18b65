import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Acceptor,
  type AcceptorOptions,
  type AcceptReport,
  closeFd,
  listenerInfo,
  listenTcp,
  peek,
} from '../../../native/index.js';

/** The native front door's accept loop (native/src/acceptor.cc) against real loopback connections. */
interface Door {
  acceptor: Acceptor;
  port: number;
  reports: AcceptReport[];
}

const open: { acceptor: Acceptor; fd: number }[] = [];
const clients: net.Socket[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  for (const d of open.splice(0)) {
    d.acceptor.close();
    closeFd(d.fd);
  }
});

const defaults: AcceptorOptions = {
  maxBytes: 4096,
  deadlineMs: 5000,
  maxPending: 100,
  maxPendingPerAddress: 100,
};

function door(options: Partial<AcceptorOptions> = {}): Door {
  const reports: AcceptReport[] = [];
  const acceptor = new Acceptor({ ...defaults, ...options }, (batch) => reports.push(...batch));
  const fd = listenTcp('127.0.0.1', 0, 128);
  acceptor.listen(fd, 'test');
  open.push({ acceptor, fd });
  return { acceptor, port: listenerInfo(fd).local.port, reports };
}

async function dial(port: number, from = '127.0.0.1'): Promise<net.Socket> {
  const c = net.connect({ port, host: '127.0.0.1', localAddress: from });
  c.on('error', () => undefined);
  clients.push(c);
  await once(c, 'connect');
  return c;
}

/** Waits (bounded: 400 × 5 ms) until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
}

const frame = (body: number) =>
  Buffer.concat([Buffer.from([0, 0, body >> 8, body & 0xff]), Buffer.alloc(body, 0xfe)]);

describe('Acceptor', () => {
  it('reports a connection whose first frame is complete, with the fd left open and every byte unread', async () => {
    const d = door();
    const c = await dial(d.port);
    c.write(frame(64));
    await until(() => d.reports.length === 1);
    const r = d.reports[0]!;
    expect(r.kind).toBe('ready');
    if (r.kind !== 'ready') return;
    expect(r.bytes.length).toBe(68);
    expect(r.remote).toEqual({ address: '127.0.0.1', port: c.localPort });
    expect(r.local).toEqual({ address: '127.0.0.1', port: d.port });
    expect(peek(r.fd, 4096)?.length).toBe(68);
    // Closed with its bytes unread, the kernel resets the connection: the client sees it end either way.
    const ended = new Promise((resolve) => c.once('close', resolve));
    closeFd(r.fd);
    await ended;
    expect(d.acceptor.pending()).toBe(0);
  });

  it('waits for a frame that arrives in pieces, then reports it whole', async () => {
    const d = door();
    const c = await dial(d.port);
    const f = frame(200);
    c.write(f.subarray(0, 3));
    await until(() => d.acceptor.pending() === 1);
    c.write(f.subarray(3, 100));
    await new Promise((r) => setTimeout(r, 50));
    expect(d.reports).toEqual([]);
    c.write(f.subarray(100));
    await until(() => d.reports.length === 1);
    expect(d.reports[0]!.kind).toBe('ready');
    if (d.reports[0]!.kind === 'ready') {
      expect(d.reports[0]!.bytes.equals(f)).toBe(true);
      closeFd(d.reports[0]!.fd);
    }
    expect(d.acceptor.pending()).toBe(0);
  });

  it('reports a frame that announces more than the cap as it is, without waiting for it', async () => {
    const d = door({ maxBytes: 256 });
    const c = await dial(d.port);
    c.write(Buffer.from([0, 0, 0x10, 0, 0xfe, 0x53, 0x4d, 0x42]));
    await until(() => d.reports.length === 1);
    expect(d.reports[0]).toMatchObject({
      kind: 'ready',
      bytes: Buffer.from([0, 0, 0x10, 0, 0xfe, 0x53, 0x4d, 0x42]),
    });
    if (d.reports[0]!.kind === 'ready') closeFd(d.reports[0]!.fd);
  });

  it('closes a connection that ends before its frame and reports the bytes it sent', async () => {
    const d = door();
    const c = await dial(d.port);
    c.end(Buffer.from([0, 0, 1]));
    await until(() => d.reports.length === 1);
    expect(d.reports[0]).toMatchObject({ kind: 'eof', bytes: Buffer.from([0, 0, 1]) });
    expect(d.acceptor.pending()).toBe(0);
  });

  it('closes a silent connection at its deadline', async () => {
    const d = door({ deadlineMs: 100 });
    const c = await dial(d.port);
    const closed = once(c, 'close');
    await until(() => d.reports.length === 1);
    expect(d.reports[0]).toMatchObject({ kind: 'timeout', bytes: Buffer.alloc(0) });
    expect((d.reports[0] as { detail: string }).detail).toContain('within 100 ms');
    await closed;
  });

  it('at the per-address bound closes that address’s oldest, never another address’s', async () => {
    const d = door({ maxPendingPerAddress: 2 });
    const victim = await dial(d.port, '127.0.0.9');
    const first = await dial(d.port, '127.0.0.2');
    // Read now: a socket closed by the shed no longer knows its port.
    const firstPort = first.localPort;
    await dial(d.port, '127.0.0.2');
    await until(() => d.acceptor.pending() === 3);
    const firstClosed = once(first, 'close');
    await dial(d.port, '127.0.0.2');
    await until(() => d.reports.length === 1);
    expect(d.reports[0]).toMatchObject({ kind: 'shed', remote: { address: '127.0.0.2', port: firstPort } });
    expect((d.reports[0] as { detail: string }).detail).toContain('from this address');
    await firstClosed;
    expect(victim.destroyed).toBe(false);
    expect(d.acceptor.pending()).toBe(3);
  });

  it('at the overall bound closes the oldest overall', async () => {
    const d = door({ maxPending: 2 });
    const oldestPort = (await dial(d.port, '127.0.0.2')).localPort;
    await dial(d.port, '127.0.0.3');
    await until(() => d.acceptor.pending() === 2);
    await dial(d.port, '127.0.0.4');
    await until(() => d.reports.length === 1);
    expect(d.reports[0]).toMatchObject({ kind: 'shed', remote: { address: '127.0.0.2', port: oldestPort } });
    expect(d.acceptor.pending()).toBe(2);
  });

  it('serves every socket of an SO_REUSEPORT group on one address', async () => {
    const reports: AcceptReport[] = [];
    const acceptor = new Acceptor(defaults, (batch) => reports.push(...batch));
    const first = listenTcp('127.0.0.1', 0, 128, true);
    const port = listenerInfo(first).local.port;
    const second = listenTcp('127.0.0.1', port, 128, true);
    open.push({ acceptor, fd: first }, { acceptor, fd: second });
    acceptor.listen(first, 'a');
    acceptor.listen(second, 'b');
    for (let i = 0; i < 16; i++) (await dial(port)).write(frame(8));
    await until(() => reports.length === 16);
    for (const r of reports) if (r.kind === 'ready') closeFd(r.fd);
    expect(reports.every((r) => r.kind === 'ready')).toBe(true);
  });

  it('refuses options out of range and a listen on a taken address, naming what is wrong', () => {
    expect(() => new Acceptor({ ...defaults, maxPending: 0 }, () => undefined)).toThrow(/maxPending/);
    const fd = listenTcp('127.0.0.1', 0, 16);
    try {
      const port = listenerInfo(fd).local.port;
      expect(() => listenTcp('127.0.0.1', port, 16)).toThrow(/bind.*EADDRINUSE|Address already in use/);
      expect(() => listenTcp('localhost', 0, 16)).toThrow(/not an IP address/);
    } finally {
      closeFd(fd);
    }
  });
});
