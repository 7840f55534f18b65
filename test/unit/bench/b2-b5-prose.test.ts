import { describe, expect, it } from 'vitest';
import { type B2Numbers, type B2Run, b2Lines } from '../../../bench/b2-prose.js';
import { type B3Baseline, type B3Registry, b3Lines } from '../../../bench/b3-prose.js';
import { type B4Numbers, b4Lines } from '../../../bench/b4-prose.js';
import { type B5Cell, b5Lines } from '../../../bench/b5-prose.js';

// Each verdict and sentence must follow this run's numbers: crafted runs that break one premise at a time.
// (B1's are in b1-prose.test.ts.)

const b2Run = (over: Partial<B2Run> = {}): B2Run => ({
  opened: 400,
  setupFailures: 0,
  setupSeconds: 1,
  affected: 100,
  closeLatenciesMs: Array.from({ length: 100 }, (_, i) => 10 + i),
  unaffectedClosed: 0,
  ...over,
});
const b2Clean: B2Numbers = {
  cores: 2,
  clients: 100,
  workers: 1,
  windowMs: 4000,
  mccd: b2Run(),
  floor: b2Run(),
};

describe('B2 lines', () => {
  it('mccd as fast as the floor, everything opened and closed: met, no gap paragraph', () => {
    const text = b2Lines(b2Clean).join('\n');
    expect(text).not.toContain('not met');
    expect(text).not.toContain('Gap:');
    expect(text).toContain('(1.00×: 108.00 ms against 108.00 ms)');
  });

  it('a p99 past 1.3× the floor is not met, and the gap compares the two spreads', () => {
    const slow = b2Run({ closeLatenciesMs: b2Clean.mccd.closeLatenciesMs.map((x) => x * 2) });
    const text = b2Lines({ ...b2Clean, mccd: slow }).join('\n');
    expect(text).toMatch(/\*\*not met\*\* \(2\.00×/);
    expect(text).toContain("Gap: mccd's closes arrived from 20.00 to 218.00 ms");
  });

  it('a fast p99 over channels that never closed is not met, and the gap names them', () => {
    const partial = b2Run({ closeLatenciesMs: b2Clean.mccd.closeLatenciesMs.slice(0, 90) });
    const text = b2Lines({ ...b2Clean, mccd: partial }).join('\n');
    expect(text).toContain('**not met**');
    expect(text).toContain('through mccd: 10 of 100 affected channels did not close within 4 s');
  });

  it('a floor that failed fails the verdict too, and says so', () => {
    const text = b2Lines({ ...b2Clean, floor: b2Run({ opened: 396, setupFailures: 4 }) }).join('\n');
    expect(text).toContain('**not met**');
    expect(text).toContain('the floor: 4 channels never opened (4 failed)');
  });

  it('an unaffected channel that closed fails the verdict, and the processes and cores are this run’s', () => {
    const text = b2Lines({ ...b2Clean, cores: 8, workers: 3, mccd: b2Run({ unaffectedClosed: 1 }) }).join(
      '\n',
    );
    expect(text).toContain('**not met**');
    expect(text).toContain('through mccd: 1 unaffected channels closed');
    expect(text).toContain('3 client processes, mccd and 3 workers share 8 core(s)');
  });
});

describe('B3 lines', () => {
  const reg: B3Registry = {
    bytesPerClient: 5000,
    eventsPerSec: 150_000,
    snapshotRestoreMs: 900,
    wakeAllMs: 300,
    restoreToLiveMs: 1200,
    createMs: 4000,
  };
  const base: B3Baseline = { bytesPerClient: 2000, eventsPerSec: 1e6, snapshotRestoreMs: 950, createMs: 800 };

  it('a lazy restore is not met when waking every client takes the total past the target', () => {
    const text = b3Lines({ ...reg, wakeAllMs: 3400, restoreToLiveMs: 4300 }, base).join('\n');
    expect(text).toMatch(/snapshot \+ restore \+ waking every client.*4,300 ms.*\*\*not met\*\*/);
  });

  it('the target is met only on the total, with the parts shown', () => {
    const text = b3Lines(reg, base).join('\n');
    expect(text).not.toContain('not met');
    expect(text).toContain('| of which waking every restored client | 300.00 ms |');
  });
});

describe('B4 lines', () => {
  const n: B4Numbers = {
    cachedQps: 2e6,
    encodeEveryQueryQps: 2e5,
    events: 600,
    synchronous: 600,
    missed: 0,
    lateWaitMs: 1000,
    updateP50Us: 20,
    updateP99Us: 200,
  };
  it('says the next query sees the update only when every update was synchronous', () => {
    expect(b4Lines(n).join('\n')).toContain('already sees it');
    const late = b4Lines({ ...n, synchronous: 590, missed: 4 }).join('\n');
    expect(late).not.toContain('already sees it');
    expect(late).toContain(
      '590 were answered before the event handler returned, 6 later and 4 not within 1,000 ms',
    );
    expect(late).toContain('(596 of 600 events updated)');
  });
});

describe('B5 lines', () => {
  const cell = (op: string, size: number, shm: number, shmCpu = 0.1): B5Cell => ({
    op,
    size,
    inlineMbPerSec: 100,
    shmMbPerSec: shm,
    inlineCpuNsPerByte: 1,
    shmCpuNsPerByte: shmCpu,
  });
  it('claims a growing gap only for an op whose ratio rises at every size', () => {
    const text = b5Lines([
      cell('read', 4096, 150),
      cell('read', 65536, 300),
      cell('read', 1048576, 900),
      cell('write', 4096, 150),
      cell('write', 65536, 500),
      cell('write', 1048576, 400),
    ]).join('\n');
    expect(text).toContain('read 1.50× → 3.00× → 9.00×, growing with the size');
    expect(text).toContain('write 1.50× → 5.00× → 4.00×, not growing at every step');
  });
  it('a 1 MiB cell below either bound is not met', () => {
    expect(b5Lines([cell('read', 1048576, 150)]).join('\n')).toContain('**not met** (≥ 2×, ≤ 0.5×)');
    expect(b5Lines([cell('read', 1048576, 900, 0.9)]).join('\n')).toContain('**not met** (≥ 2×, ≤ 0.5×)');
  });
});
