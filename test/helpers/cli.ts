import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './reference.js';

/** Runs a built executable from dist/ (npm test builds first) and returns its output. */
export function runBin(
  bin: 'mcc' | 'mccd',
  args: string[],
  input?: string | Uint8Array,
): SpawnSyncReturns<Buffer> {
  const entry = join(projectRoot, 'dist', 'cli', `${bin}.js`);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  return spawnSync(process.execPath, [entry, ...args], {
    input,
    timeout: 20_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}
