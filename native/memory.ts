import { addon } from './addon.js';
import { call } from './errors.js';

/** A memfd of `size` bytes (close-on-exec), shareable with another process over a carrier. */
export function memfdCreate(name: string, size: number): number {
  return call(() => addon.memfdCreate(name, size));
}

/** Maps a whole memfd (or file) MAP_SHARED; unmapped when the buffer is garbage-collected. */
export function mapShared(fd: number): Uint8Array {
  return new Uint8Array(call(() => addon.mapShared(fd)));
}

export function fdSize(fd: number): number {
  return call(() => addon.fdSize(fd));
}
