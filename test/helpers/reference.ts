import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '../../wire/input.js';

/** ../shared/reference beside the project root (see DEVELOPERS.md). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const referenceDir = join(projectRoot, '..', 'shared', 'reference', 'samba-4.17');

export function hasReference(): boolean {
  return existsSync(referenceDir);
}

export function referenceBytes(name: string): Uint8Array {
  const raw = readFileSync(join(referenceDir, name));
  return name.endsWith('.hex') ? hexToBytes(raw.toString('latin1')) : new Uint8Array(raw);
}

export function referenceText(name: string): string {
  return readFileSync(join(referenceDir, name), 'utf8');
}
