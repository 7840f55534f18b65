import { describe, expect, it } from 'vitest';
import { addon } from '../../../native/addon.js';
import { closeFd, FdSet, openFdCount } from '../../../native/index.js';

/** Resolves once `n` readiness reports came (the set reports on the event loop). */
function collect(n: number): { set: FdSet; got: number[]; done: Promise<void> } {
  const got: number[] = [];
  let resolve = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const set = new FdSet((fd) => {
    got.push(fd);
    // Read what made it readable, as a user of the set must (level-triggered).
    const m = addon.recvFds(fd, 64, 1);
    for (const f of m?.fds ?? []) closeFd(f);
    if (got.length === n) resolve();
  });
  return { set, got, done };
}

describe('FdSet', () => {
  it('reports each readable fd, its end included, and nothing once closed out of it', async () => {
    const { set, got, done } = collect(3);
    const [a1, b1] = addon.seqpacketPair();
    const [a2, b2] = addon.seqpacketPair();
    set.add(a1);
    set.add(a2);
    addon.sendFds(b1, Buffer.from('R'));
    addon.sendFds(b2, Buffer.from('R'));
    closeFd(b1); // a1 then sees its end (EOF)
    await done;
    expect(got.sort()).toEqual([a1, a1, a2].sort());
    set.closeFd(a1);
    set.closeFd(a2);
    closeFd(b2);
    set.close();
  });

  it('leaks no fd over many members added and closed', () => {
    const before = openFdCount();
    const set = new FdSet(() => {});
    for (let i = 0; i < 500; i++) {
      const [a, b] = addon.seqpacketPair();
      set.add(a);
      closeFd(b);
      set.closeFd(a);
    }
    set.close();
    // After close() the set only closes what it is given.
    const [a, b] = addon.seqpacketPair();
    set.closeFd(a);
    closeFd(b);
    expect(openFdCount()).toBe(before);
  });
});
