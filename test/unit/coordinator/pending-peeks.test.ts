import { describe, expect, it } from 'vitest';
import {
  effectivePendingBounds,
  LimitsParseError,
  PendingPeeks,
  parseOpenFileLimit,
} from '../../../coordinator/pending-peeks.js';

describe('PendingPeeks', () => {
  it('at the per-address bound closes that address’s oldest, never another address’s', () => {
    const p = new PendingPeeks<string>(100, 2);
    expect(p.add('10.0.0.9', 'victim')).toEqual([]);
    expect(p.add('10.0.0.1', 'a1')).toEqual([]);
    expect(p.add('10.0.0.1', 'a2')).toEqual([]);
    expect(p.add('10.0.0.1', 'a3')).toEqual([{ evicted: 'a1', why: 'per-address' }]);
    expect(p.from('10.0.0.1')).toBe(2);
    expect([...p.items()]).toEqual(['victim', 'a2', 'a3']);
  });

  it('at the overall bound closes the oldest overall', () => {
    const p = new PendingPeeks<number>(3, 3);
    p.add('a', 1);
    p.add('b', 2);
    p.add('c', 3);
    expect(p.add('d', 4)).toEqual([{ evicted: 1, why: 'overall' }]);
    expect(p.size).toBe(3);
    expect(p.from('a')).toBe(0);
  });

  it('delete and takeOldest keep both indexes in step', () => {
    const p = new PendingPeeks<number>(10, 10);
    for (let i = 0; i < 5; i++) p.add(i % 2 ? 'x' : 'y', i);
    expect(p.delete(2)).toBe(true);
    expect(p.delete(2)).toBe(false);
    expect(p.takeOldest(2)).toEqual([0, 1]);
    expect(p.size).toBe(2);
    expect(p.from('x') + p.from('y')).toBe(2);
  });
});

describe('open-file limit', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             7823                 7823                 processes \nMax open files            ${soft}                20000                files     \n`;

  it('reads the soft limit, unlimited as undefined, and names what is wrong otherwise', () => {
    expect(parseOpenFileLimit(limits('1024'))).toEqual({ ok: true, limit: 1024 });
    expect(parseOpenFileLimit(limits('unlimited'))).toEqual({ ok: true, limit: undefined });
    const bad = parseOpenFileLimit(limits('lots'));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toBeInstanceOf(LimitsParseError);
    expect(parseOpenFileLimit('').ok).toBe(false);
  });

  it('keeps the configured bounds under systemd’s LimitNOFILE=20000 and lowers them under a small limit', () => {
    const configured = { maxPending: 10_000, maxPendingPerAddress: 1000 };
    expect(effectivePendingBounds(configured, 20_000)).toEqual(configured);
    const low = effectivePendingBounds(configured, 2000);
    expect(low.maxPending).toBe(1500);
    expect(low.maxPendingPerAddress).toBe(1000);
    expect(low.lowered).toContain('2000');
    expect(effectivePendingBounds(configured, undefined)).toEqual(configured);
  });
});
