/**
 * What mccd's memory is made of, for an operator (or the endurance test) telling a leak from V8's heap
 * sizing: process.memoryUsage() and the V8 heap, optionally right after a full collection. A collection
 * is a pause, so it runs only when asked for and only where node was started with --expose-gc.
 */
import { getHeapStatistics } from 'node:v8';

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
}

export function memoryReport(collect: boolean): MemoryReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collected = collect && typeof gc === 'function';
  // Twice: the first full collection leaves pages to sweep concurrently, which heapUsed still counts.
  if (collected) for (let i = 0; i < 2; i++) gc!();
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  return {
    collected,
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    heapLimit: heap.heap_size_limit,
    mallocedMemory: heap.malloced_memory,
  };
}
