import { once } from 'node:events';
import { openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addon } from '../../../native/addon.js';
import { carrierPair, closeFd, NativeError, openFdCount } from '../../../native/index.js';

describe('SEQPACKET carrier', () => {
  it('moves messages with fds both ways, in order', async () => {
    const [a, b] = carrierPair();
    const got: string[] = [];
    b.on('message', ({ data, fds }) => {
      got.push(data.toString());
      for (const fd of fds) closeFd(fd);
    });
    const devnull = openSync('/dev/null', 'r');
    for (let i = 0; i < 10; i++) await a.send(Buffer.from(`m${i}`), [devnull]);
    closeFd(devnull);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    a.close();
    await once(b, 'close');
  });

  it('leaks no fd over thousands of cycles, including truncated, closed-peer and bad-fd paths', async () => {
    const before = openFdCount();
    const devnull = openSync('/dev/null', 'r');
    for (let round = 0; round < 20; round++) {
      const [a, b] = carrierPair();
      let received = 0;
      b.on('message', ({ fds }) => {
        received++;
        for (const fd of fds) closeFd(fd);
      });
      for (let i = 0; i < 100; i++) await a.send(Buffer.from('x'), [devnull, devnull, devnull]);
      // Delivery is asynchronous (uv_poll): wait for it, bounded, rather than for a fixed 5 ms a loaded
      // machine may not honour.
      for (let waited = 0; received < 100 && waited < 5000; waited += 5) {
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(received).toBe(100);
      a.close();
      b.close();
    }

    // MSG_CTRUNC: four fds into room for one; all that arrived are closed and the error says so.
    const [x, y] = addon.seqpacketPair();
    for (let i = 0; i < 500; i++) {
      expect(addon.sendFds(x, Buffer.from('t'), [devnull, devnull, devnull, devnull])).toBe(1);
      let error: unknown;
      try {
        addon.recvFds(y, 16, 1);
      } catch (e) {
        error = e;
      }
      expect((error as { code: string }).code).toBe('MSG_CTRUNC');
    }
    // MSG_TRUNC: payload longer than maxBytes.
    addon.sendFds(x, Buffer.alloc(100), [devnull]);
    expect(() => addon.recvFds(y, 10, 4)).toThrow(/MSG_TRUNC/);
    // A closed peer: EOF for the reader, EPIPE for the writer.
    addon.closeFd(x);
    expect(addon.recvFds(y, 16, 1)).toMatchObject({ eof: true, fds: [] });
    const [p, q] = addon.seqpacketPair();
    addon.closeFd(q);
    expect(() => addon.sendFds(p, Buffer.from('z'), [devnull])).toThrow(/EPIPE|Broken pipe/);
    addon.closeFd(p);
    addon.closeFd(y);
    // Bad fds are refused with errno and syscall.
    const [s, t] = carrierPair();
    await expect(s.send(Buffer.from('bad'), [987654])).rejects.toMatchObject({
      code: 'EBADF',
      syscall: 'sendmsg',
    });
    s.close();
    t.close();
    closeFd(devnull);
    expect(openFdCount()).toBe(before);
  });

  it('validates arguments with errno EINVAL and the function name', () => {
    expect(() => closeFd(-1)).toThrow(NativeError);
    // Not a try/catch: a closeFd that accepted 1.5 (and closed fd 1) must fail this test, not skip a branch.
    let thrown: unknown;
    try {
      closeFd(1.5);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ errno: 22, code: 'EINVAL', syscall: 'closeFd' });
    expect(() => addon.sendFds(0, 'nope' as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });

  it('waits for room when the carrier is full, then delivers everything', async () => {
    const [a, b] = carrierPair();
    const payload = Buffer.alloc(32 * 1024, 7);
    // Queue far more than the socket buffer holds before the reader starts.
    const sends = Array.from({ length: 200 }, () => a.send(payload));
    let count = 0;
    b.on('message', () => {
      count++;
    });
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 50));
    expect(count).toBe(200);
    a.close();
    b.close();
  });
});
