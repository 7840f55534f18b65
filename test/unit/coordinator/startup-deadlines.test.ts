import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartupDeadlines } from '../../../coordinator/backends/startup-deadlines.js';

interface Item {
  name: string;
  ready: boolean;
}

describe('StartupDeadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands over each item still pending at its own deadline, oldest first, and none that got ready', () => {
    const late: string[][] = [];
    const d = new StartupDeadlines<Item>(
      1000,
      (i) => !i.ready,
      (items) => late.push(items.map((i) => i.name)),
    );
    const a = { name: 'a', ready: false };
    const b = { name: 'b', ready: false };
    const c = { name: 'c', ready: false };
    d.add(a);
    vi.advanceTimersByTime(400);
    d.add(b);
    d.add(c);
    b.ready = true;
    vi.advanceTimersByTime(599);
    expect(late).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(late).toEqual([['a']]);
    vi.advanceTimersByTime(400);
    expect(late).toEqual([['a'], ['c']]);
    vi.advanceTimersByTime(10_000);
    expect(late).toEqual([['a'], ['c']]);
  });

  it('lets go of ready items from the front, and forgets everything on clear()', () => {
    const late: string[] = [];
    const d = new StartupDeadlines<Item>(
      1000,
      (i) => !i.ready,
      (items) => late.push(...items.map((i) => i.name)),
    );
    const items = Array.from({ length: 5 }, (_, k) => ({ name: `m${k}`, ready: false }));
    for (const i of items) d.add(i);
    for (const i of items.slice(0, 4)) i.ready = true;
    d.prune();
    d.clear();
    vi.advanceTimersByTime(5000);
    expect(late).toEqual([]);
    const e = { name: 'e', ready: false };
    d.add(e);
    vi.advanceTimersByTime(1000);
    expect(late).toEqual(['e']);
  });
});
