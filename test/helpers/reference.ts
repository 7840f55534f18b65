import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '../../wire/input.js';

/** The folder holding package.json: found by walking up, so the same code works from dist/ (failover harness). */
function findProjectRoot(from: string): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(from, '../..');
}

export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
/** Real bytes from smbd 4.17, kept in the repository (see its README.md for how they were captured). */
export const referenceDir = join(projectRoot, 'test', 'fixtures', 'samba-4.17');

export function referenceBytes(name: string): Uint8Array {
  const raw = readFileSync(join(referenceDir, name));
  return name.endsWith('.hex') ? hexToBytes(raw.toString('latin1')) : new Uint8Array(raw);
}

export function referenceText(name: string): string {
  return readFileSync(join(referenceDir, name), 'utf8');
}
