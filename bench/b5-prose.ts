import { fmt, verdict } from './stats.js';

/**
 * B5's table and explanation as a pure function of the run's numbers: "the gap grows with the operation
 * size" is said only for an operation whose throughput ratio rises at every size step in this run.
 */
export interface B5Cell {
  op: string;
  size: number;
  inlineMbPerSec: number;
  shmMbPerSec: number;
  inlineCpuNsPerByte: number;
  shmCpuNsPerByte: number;
}

export const B5_TARGET_SIZE = 1048576;
export const B5_THROUGHPUT_TARGET = 2;
export const B5_CPU_TARGET = 0.5;

export function b5Lines(cells: B5Cell[]): string[] {
  const lines = [
    '| op | size | inline over TCP MB/s | shared memory MB/s | throughput ratio | inline CPU ns/B | shm CPU ns/B | CPU ratio | target (1 MiB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of cells) {
    const throughput = c.shmMbPerSec / c.inlineMbPerSec;
    const cpu = c.shmCpuNsPerByte / c.inlineCpuNsPerByte;
    const bounds = `(≥ ${B5_THROUGHPUT_TARGET}×, ≤ ${B5_CPU_TARGET}×)`;
    const target =
      c.size === B5_TARGET_SIZE
        ? `${verdict(throughput >= B5_THROUGHPUT_TARGET && cpu <= B5_CPU_TARGET)} ${bounds}`
        : '';
    lines.push(
      `| ${c.op} | ${fmt(c.size / 1024, 0)} KiB | ${fmt(c.inlineMbPerSec)} | ${fmt(c.shmMbPerSec)} | ${fmt(throughput)}× | ${fmt(c.inlineCpuNsPerByte, 3)} | ${fmt(c.shmCpuNsPerByte, 3)} | ${fmt(cpu, 3)}× | ${target} |`,
    );
  }
  const progressions = [...new Set(cells.map((c) => c.op))].map((op) => {
    const ratios = cells
      .filter((c) => c.op === op)
      .sort((a, b) => a.size - b.size)
      .map((c) => c.shmMbPerSec / c.inlineMbPerSec);
    const grows = ratios.every((r, i) => i === 0 || r > ratios[i - 1]!);
    return `${op} ${ratios.map((r) => `${fmt(r)}×`).join(' → ')}${grows ? ', growing with the size' : ', not growing at every step'}`;
  });
  lines.push(
    '',
    `Server and client share one process, so CPU per byte counts both ends. Inline, every byte crosses the socket twice (copied into and out of the kernel); with shared memory only a small request and reply do, and the server copies straight into the registered memfd. Throughput ratio by size in this run: ${progressions.join('; ')}.`,
  );
  return lines;
}
