/**
 * What mccd's memory is made of, for an operator (or the endurance test) telling a leak from V8's heap
 * sizing: process.memoryUsage() and the V8 heap, optionally right after a full collection. A collection
 * is a pause, so it runs only when asked for and only where node was started with --expose-gc.
 */
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export interface MemoryReport {
  /** Whether a full collection ran just before these figures (asked for, and node has --expose-gc). */
  collected: boolean;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  heapLimit: number;
  mallocedMemory: number;
  /** malloc'd memory's high-water mark in V8 (zones, compiler): it stays reserved once touched. */
  peakMallocedMemory: number;
  /** Machine code and bytecode V8 keeps (code space + the code metadata in old space is not split out). */
  codeSpace: number;
  /** Each V8 heap space: size (committed to it) and used, in bytes. new_space is the young generation. */
  spaces: Record<string, { size: number; used: number }>;
  /** RSS not explained by the V8 heap or external buffers: Node/libuv, the allocator's arenas, the addon. */
  outsideHeap: number;
}

export function memoryReport(collect: boolean): MemoryReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collected = collect && typeof gc === 'function';
  // Twice: the first full collection leaves pages to sweep concurrently, which heapUsed still counts.
  if (collected) for (let i = 0; i < 2; i++) gc!();
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  const spaces: MemoryReport['spaces'] = {};
  for (const sp of getHeapSpaceStatistics())
    spaces[sp.space_name] = { size: sp.space_size, used: sp.space_used_size };
  return {
    collected,
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    heapLimit: heap.heap_size_limit,
    mallocedMemory: heap.malloced_memory,
    peakMallocedMemory: heap.peak_malloced_memory,
    codeSpace: spaces.code_space?.size ?? 0,
    spaces,
    outsideHeap: Math.max(0, usage.rss - usage.heapTotal - usage.external),
  };
}
