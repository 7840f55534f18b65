import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * CI checks generated documents with Biome: leave them as Biome formats them (aligned tables), so a
 * fresh run passes the lint.
 */
export function formatWithBiome(path: string): void {
  const biome = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'biome');
  if (!existsSync(biome)) return;
  try {
    execFileSync(biome, ['format', '--write', path], { stdio: 'ignore' });
  } catch {
    process.stderr.write(`could not format ${path} with Biome; run "npx biome format --write ${path}"\n`);
  }
}
