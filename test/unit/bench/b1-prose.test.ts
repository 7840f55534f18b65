import { describe, expect, it } from 'vitest';
import {
  type B1Numbers,
  type B1Open,
  type B1Relative,
  b1OpenCell,
  b1Prose,
  b1RelativeTable,
} from '../../../bench/b1-prose.js';

// Each verdict and sentence must follow this run's numbers: crafted runs that break one premise at a time.

const open = (rate: number, over: Partial<B1Open> = {}): B1Open => ({
  offeredPerSec: rate,
  achievedPerSec: rate,
  p50Ms: 0.5,
  p99Ms: 1.5,
  started: rate * 3,
  ok: rate * 3,
  errors: 0,
  ...over,
});
/** One repeat at half a 10,000 conn/s bare server: bare p99 2 ms, mccd's as given. */
const rel = (mccd: Partial<B1Open> = {}, bare: Partial<B1Open> = {}): B1Relative => ({
  baseline: open(5000, { p99Ms: 2, ...bare }),
  mccd: open(5000, { p99Ms: 3, ...mccd }),
});
const clean: B1Numbers = {
  cores: 2,
  baseline: {
    name: 'bare',
    closed: { connPerSec: 10_000, ok: 90_000, errors: 0 },
    open: [open(500), open(2000)],
  },
  mccd: { name: 'mccd', closed: { connPerSec: 8000, ok: 72_000, errors: 0 }, open: [open(500), open(2000)] },
  relative: [rel(), rel(), rel()],
};

describe('B1 verdicts', () => {
  it('a clean run meets both targets and names the counts and rates behind them', () => {
    const [targets, use, sustained] = b1Prose(clean);
    expect(targets).not.toContain('not met');
    expect(targets).toContain("≥ 0.75× the bare server's conn/s");
    expect(targets).toContain('mccd 72,000 completed, 0 errors');
    expect(targets).toContain(
      'median ratio 1.50×, median p99 3.00 ms against 2.00 ms at a median 5,000/s offered',
    );
    expect(targets).toContain('mccd 45,000 completed, 0 errors, baseline 45,000 completed, 0 errors');
    expect(use).toBe(
      'At the load-relative rate (median 5,000/s) the bare server ran at 50% of its median closed-loop conn/s and mccd + worker at 63% of its own.',
    );
    expect(sustained).toContain('Every open-loop cell, fixed-rate and load-relative, achieved');
  });

  it('the conn/s target is 0.75×: 0.7× is not met', () => {
    const n = { ...clean, mccd: { ...clean.mccd, closed: { ...clean.mccd.closed, connPerSec: 7000 } } };
    expect(b1Prose(n)[0]).toMatch(/conn\/s \(closed loop\) with no errors — \*\*not met\*\* \(0\.70×/);
  });

  it('a mccd p99 past 2× the bare p99 of the same repeats is not met; the median of the per-repeat ratios judges', () => {
    // Per-repeat ratios 2.5, 2.5 and 1.0: their median, 2.5, is over 2×.
    const n = { ...clean, relative: [rel({ p99Ms: 5 }), rel({ p99Ms: 5 }), rel({ p99Ms: 2 })] };
    const [targets] = b1Prose(n);
    expect(targets).toMatch(
      /same repeat\), sustained and with no errors — \*\*not met\*\* \(median ratio 2\.50×/,
    );
    const table = b1RelativeTable(n);
    expect(table[2]).toBe(
      '| 1 | 5,000 | 0.50 / 2.00 (5,000/s, 0 errors) | 0.50 / 5.00 (5,000/s, 0 errors) | 2.50× |',
    );
    expect(table.at(-1)).toBe('| median | 5,000 | p99 2.00 | p99 5.00 | 2.50× |');
    // Exactly 2× is within the target.
    expect(b1Prose({ ...clean, relative: [rel({ p99Ms: 4 })] })[0]).not.toContain('not met');
  });

  it('a low p99 bought with errors, or at a rate not sustained, is not met, and the shortfall is named', () => {
    const withErrors = b1Prose({ ...clean, relative: [rel(), rel({ errors: 7 }), rel()] })[0]!;
    expect(withErrors).toMatch(/same repeat\).* — \*\*not met\*\*.*mccd 45,000 completed, 7 errors/);

    const n = { ...clean, relative: [rel(), rel({ achievedPerSec: 3000, p99Ms: 2.5 }), rel()] };
    const [targets, , sustained] = b1Prose(n);
    expect(targets).toMatch(
      /same repeat\).* — \*\*not met\*\*.*mccd short of the offered rate in 1 of 3 repeats/,
    );
    expect(sustained).toContain(
      'mccd at the load-relative rate (repeat 2) achieved 3,000/s of 5,000/s offered (60%, 15,000 started)',
    );

    // A bare server that missed the rate leaves no reference p99 at that rate either.
    const bareShort = b1Prose({ ...clean, relative: [rel({}, { achievedPerSec: 4000 })] })[0]!;
    expect(bareShort).toMatch(/\*\*not met\*\*.*the bare server short of it in 1 of 1/);
  });

  it('mccd offered more than its own closed loop completed: said, as the reason its p99 is a queue', () => {
    const n = { ...clean, mccd: { ...clean.mccd, closed: { ...clean.mccd.closed, connPerSec: 4000 } } };
    expect(b1Prose(n)[1]).toContain('mccd + worker at 125% of its own: mccd + worker was offered more');
  });

  it('no load-relative run is not met, and fixed-rate cells still show errors and shortfalls', () => {
    const n: B1Numbers = {
      ...clean,
      relative: [],
      mccd: { ...clean.mccd, open: [open(500), open(2000, { errors: 12, achievedPerSec: 700 })] },
    };
    const [targets, sustained] = b1Prose(n);
    expect(targets).toContain('— **not met** (no load-relative run)');
    expect(sustained).toContain('mccd achieved 700.00/s of 2,000/s offered (35%');
    expect(sustained).toContain('not latencies at the offered rate');
    expect(b1OpenCell(n.mccd.open[1]!)).toBe('0.50 / 1.50 (700.00/s, 12 errors)');
  });
});
