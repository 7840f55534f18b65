import { describe, expect, it } from 'vitest';
import { type B6Numbers, b6MccdCpuCell, b6Prose, b6StarvedProse } from '../../../bench/b6-prose.js';

const clean: B6Numbers = {
  cores: 2,
  at64: {
    a: { connPerSec: 300, p99Ms: 1100, cpuMsPerConn: 5, mccdCpuMsPerConn: Number.NaN, ok: 2700, errors: 0 },
    b: { connPerSec: 60, p99Ms: 1500, cpuMsPerConn: 30, mccdCpuMsPerConn: 2.5, ok: 540, errors: 0 },
    c: { connPerSec: 500, p99Ms: 90, cpuMsPerConn: 6, mccdCpuMsPerConn: 0.05, ok: 4500, errors: 0 },
  },
  burst: {
    a: { seconds: 8, ok: 2000, offered: 2000, errors: 0, okPerSec: 250 },
    c: { seconds: 4, ok: 2000, offered: 2000, errors: 0, okPerSec: 500 },
  },
  pool: [
    { concurrency: 1, mccdCpuMsPerConn: 0.08, fewestOk: 400, errors: 0 },
    { concurrency: 16, mccdCpuMsPerConn: 0.06, fewestOk: 1200, errors: 0 },
    { concurrency: 64, mccdCpuMsPerConn: 0.05, fewestOk: 1500, errors: 0 },
  ],
  tickMs: 10,
};

describe('B6 prose from the numbers', () => {
  it('a clean run that meets every target says so, with the counts behind each verdict', () => {
    const [targets, why] = b6Prose(clean);
    expect(targets).not.toContain('not met');
    expect(targets).toContain('(c) 4,500 completed, 0 errors');
    expect(why).toContain('none lost');
    expect(why).toContain('SYN retransmit');
    expect(why).toContain("this machine's 2 core(s)");
    expect(targets).toContain("(c) ≥ 1.2× (a)'s conn/s at 64 concurrent — met (1.67×");
    expect(targets).toContain(
      "mccd's own CPU per connection through the pool (utime + stime of the mccd process) ≤ 0.3 ms at every concurrency, with no errors — met (at most 80 µs, at 1 concurrent; 80 µs at 1, 60 µs at 16, 50 µs at 64; 0 errors; /proc counts in 10 ms ticks, ±50 µs per connection in the run with the fewest, 400)",
    );
    expect(why).toContain('5.00 ms per connection in (a) and 6.00 ms in (c), of which 0.05 ms in mccd');
    expect(why).toContain("30.00 ms of CPU per connection, 2.50 ms of it in mccd's own process");
  });

  it('the pool rate target is 1.2×: 1.1× is not met', () => {
    const n = { ...clean, at64: { ...clean.at64, c: { ...clean.at64.c, connPerSec: 330 } } };
    expect(b6Prose(n)[0]).toMatch(
      /\(c\) ≥ 1\.2× \(a\)'s conn\/s at 64 concurrent — \*\*not met\*\* \(1\.10×/,
    );
  });

  it("mccd's CPU target: one concurrency over 0.3 ms, errors, or an unmeasured cell is not met", () => {
    const over = b6Prose({
      ...clean,
      pool: [clean.pool[0]!, { ...clean.pool[1]!, mccdCpuMsPerConn: 0.31 }, clean.pool[2]!],
    })[0];
    expect(over).toMatch(
      /≤ 0\.3 ms at every concurrency, with no errors — \*\*not met\*\* \(at most 310 µs, at 16 concurrent/,
    );
    const errors = b6Prose({
      ...clean,
      pool: [clean.pool[0]!, clean.pool[1]!, { ...clean.pool[2]!, errors: 2 }],
    })[0];
    expect(errors).toMatch(/≤ 0\.3 ms .* — \*\*not met\*\* \(at most 80 µs.*; 2 errors;/);
    const unmeasured = b6Prose({ ...clean, pool: [{ ...clean.pool[0]!, mccdCpuMsPerConn: Number.NaN }] })[0];
    expect(unmeasured).toMatch(/≤ 0\.3 ms .* — \*\*not met\*\* \(at most — µs/);
    expect(b6Prose({ ...clean, pool: [] })[0]).toContain('— **not met** (no pool cells)');
    expect(b6MccdCpuCell(Number.NaN)).toBe('—');
    expect(b6MccdCpuCell(1.234)).toBe('1,234');
  });

  it('a burst with errors must not say "none lost", nor meet the burst target', () => {
    const lossy = { ...clean, burst: { ...clean.burst, c: { ...clean.burst.c, ok: 1990, errors: 10 } } };
    const [targets, why] = b6Prose(lossy);
    expect(why).not.toContain('none lost');
    expect(why).toContain('10 short of 2,000 in the median run, 10 errors over all runs');
    expect(targets).toMatch(/burst completes.*— \*\*not met\*\*/);
  });

  it('a whole median burst with errors in other runs says both, not "0 short"', () => {
    const n = { ...clean, burst: { ...clean.burst, c: { ...clean.burst.c, errors: 150 } } };
    const [targets, why] = b6Prose(n);
    expect(why).toContain('; the median run completed all 2,000, but the runs had 150 errors in all.');
    expect(why).not.toContain('0 short');
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
