import { describe, expect, it } from 'vitest';
import { type B6Numbers, b6Prose, b6StarvedProse } from '../../../bench/b6-prose.js';

const clean: B6Numbers = {
  cores: 2,
  at64: {
    a: { connPerSec: 300, p99Ms: 1100, cpuMsPerConn: 5, ok: 2700, errors: 0 },
    b: { connPerSec: 60, p99Ms: 1500, cpuMsPerConn: 30, ok: 540, errors: 0 },
    c: { connPerSec: 500, p99Ms: 90, cpuMsPerConn: 6, ok: 4500, errors: 0 },
  },
  burst: {
    a: { seconds: 8, ok: 2000, offered: 2000, errors: 0, okPerSec: 250 },
    c: { seconds: 4, ok: 2000, offered: 2000, errors: 0, okPerSec: 500 },
  },
};

describe('B6 prose from the numbers', () => {
  it('a clean run that meets every target says so, with the counts behind each verdict', () => {
    const [targets, why] = b6Prose(clean);
    expect(targets).not.toContain('not met');
    expect(targets).toContain('(c) 4,500 completed, 0 errors');
    expect(why).toContain('none lost');
    expect(why).toContain('SYN retransmit');
    expect(why).toContain("this machine's 2 core(s)");
  });

  it('a burst with errors must not say "none lost", nor meet the burst target', () => {
    const lossy = { ...clean, burst: { ...clean.burst, c: { ...clean.burst.c, ok: 1990, errors: 10 } } };
    const [targets, why] = b6Prose(lossy);
    expect(why).not.toContain('none lost');
    expect(why).toContain('10 short of 2,000 in the median run, 10 errors over all runs');
    expect(targets).toMatch(/burst completes.*— \*\*not met\*\*/);
  });

  it('a fast rate bought with errors is not met; no SYN claim without a 1 s p99; no "pulls ahead" when behind', () => {
    const n: B6Numbers = {
      ...clean,
      cores: 8,
      at64: { ...clean.at64, a: { ...clean.at64.a, p99Ms: 200 }, c: { ...clean.at64.c, errors: 3 } },
      burst: { ...clean.burst, c: { ...clean.burst.c, okPerSec: 100, seconds: 20 } },
    };
    const [targets, why] = b6Prose(n);
    expect(targets).toMatch(/conn\/s at 64 concurrent — \*\*not met\*\*/);
    expect(targets).toMatch(/p99 < 100 ms at 64 concurrent — \*\*not met\*\*/);
    expect(why).not.toContain('SYN');
    expect(why).toContain('did not pull ahead');
    expect(why).toContain("this machine's 8 core(s)");
  });

  it('B6s: verdicts per condition follow the numbers, and a starved pool that falls behind says so', () => {
    const burst = (ok: number, errors: number) => ({
      seconds: 10,
      ok,
      offered: 2000,
      errors,
      okPerSec: ok / 10,
    });
    const ahead = b6StarvedProse({
      hogs: 2,
      cores: 2,
      bare: { idle: 6000, starved: 2000 },
      idle: { a: burst(800, 1200), c: burst(1900, 100) },
      starved: { a: burst(600, 1400), c: burst(1500, 500) },
    });
    expect(ahead[0]).not.toContain('not met');
    expect(ahead[1]).toContain('3.00× slower');
    expect(ahead[1]).toContain('still kept up');
    const behind = b6StarvedProse({
      hogs: 2,
      cores: 2,
      bare: { idle: 6000, starved: 2000 },
      idle: { a: burst(800, 1200), c: burst(1900, 100) },
      starved: { a: burst(800, 1200), c: burst(417, 1583) },
    });
    expect(behind[0]).toMatch(/starved machine.*— \*\*not met\*\*/);
    expect(behind[1]).toContain('fell behind');
  });
});
