import { describe, expect, it } from 'vitest';
import {
  effectivePendingBounds,
  LimitsParseError,
  parseOpenFileLimit,
} from '../../../coordinator/pending-peeks.js';

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
