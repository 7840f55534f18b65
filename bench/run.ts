import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { b1 } from './b1-handoff.js';
import { b2 } from './b2-teardown.js';
import { b3 } from './b3-section.js';
import { b4 } from './b4-discovery.js';
import { b5 } from './b5-section.js';
import { b6 } from './b6-smbd-pool.js';
import { machineLine, type Section } from './stats.js';

/**
 * `npm run bench [-- --only B3] [-- --repeat 3] [-- --clients 100000] [-- --b2-clients 10000]`: runs each benchmark in fresh
 * processes, reports medians and ratios against a baseline measured in the same run, and writes
 * bench/RESULTS.md with the command, machine and date.
 */
const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const repeat = Number(opt('repeat', '3'));
const clients = Number(opt('clients', '100000'));
const only = opt('only', 'all');
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;

const sections: Section[] = [];

const benches: Record<string, () => Section | Promise<Section>> = {
  B1: () => b1(repeat),
  B2: () => b2(Number(opt('b2-clients', '10000'))),
  B3: () => b3(clients, repeat),
  B4: () => b4(repeat),
  B5: () => b5(repeat),
  B6: () => b6(repeat),
};
for (const [name, fn] of Object.entries(benches)) {
  if (only !== 'all' && !only.split(',').includes(name)) continue;
  process.stderr.write(`running ${name}…\n`);
  sections.push(await fn());
}

/** Sections of an existing RESULTS.md by benchmark id ("B1"…), so `--only` replaces just those. */
function existingSections(path: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(path)) return out;
  const text = readFileSync(path, 'utf8');
  for (const part of text.split(/\n(?=## )/).slice(1)) {
    const id = /^## (B\d)/.exec(part)?.[1];
    if (id) out.set(id, part.trimEnd());
  }
  return out;
}

const resultsPath = join(here, '..', '..', 'bench', 'RESULTS.md');
const merged = existingSections(resultsPath);
const stamp = `Measured by \`${command}\` on ${new Date().toISOString()}.`;
for (const sec of sections) {
  const id = /^(B\d)/.exec(sec.title)?.[1] ?? sec.title;
  merged.set(id, [`## ${sec.title}`, '', stamp, '', ...sec.lines].join('\n'));
}
const report = [
  '# Benchmark results',
  '',
  `Machine: ${machineLine()}`,
  '',
  'Each figure is a median of repetitions or a percentile, and ratios compare against a baseline measured in the same run. `npm run bench` runs them all; `npm run bench -- --only B2` re-runs one and keeps the other sections.',
  '',
  ...[...merged.keys()].sort().flatMap((k) => [merged.get(k)!, '']),
].join('\n');
process.stdout.write(`${report}\n`);
writeFileSync(resultsPath, `${report}\n`);
// CI checks RESULTS.md with Biome: leave it as Biome formats it (aligned tables), so a fresh run passes.
const biome = join(here, '..', '..', 'node_modules', '.bin', 'biome');
if (existsSync(biome)) {
  try {
    execFileSync(biome, ['format', '--write', resultsPath], { stdio: 'ignore' });
  } catch {
    process.stderr.write(
      'bench: could not format bench/RESULTS.md with Biome; run "npx biome format --write"\n',
    );
  }
}
