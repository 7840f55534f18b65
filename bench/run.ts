import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { b1 } from './b1-handoff.js';
import { b2 } from './b2-teardown.js';
import { b3 } from './b3-section.js';
import { b4 } from './b4-discovery.js';
import { b5 } from './b5-section.js';
import { b6 } from './b6-smbd-pool.js';
import { b6Starved } from './b6-starved.js';
import { b7 } from './b7-section.js';
import { b8 } from './b8-idle-flood.js';
import { formatWithBiome } from './format-doc.js';
import { mergeResults } from './results-file.js';
import { machineLine, type Section } from './stats.js';

/**
 * `npm run bench [-- --only B3] [-- --repeat 3] [-- --clients 100000] [-- --b2-clients 10000]`: runs each benchmark in fresh
 * processes, reports medians and ratios against a baseline measured in the same run, and writes
 * bench/RESULTS.md with the command, machine and date in each section it ran.
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
// Taken before anything runs: the load average it quotes is the one "at the start", not the benchmarks' own.
const machine = machineLine();

const benches: Record<string, () => Section | Promise<Section>> = {
  B1: () => b1(repeat),
  B2: () => b2(Number(opt('b2-clients', '10000'))),
  B3: () => b3(clients, repeat),
  B4: () => b4(repeat),
  B5: () => b5(repeat),
  B6: () => b6(repeat),
  B7: () => b7(clients, repeat),
  // 30 s of 12,000 idle connections re-opened against mccd under a 20,000-fd limit (issue #23).
  B8: () => b8(),
  // Only with --only B6s: it starves the machine on purpose.
  ...(only.split(',').includes('B6s') ? { B6s: () => b6Starved(repeat) } : {}),
};
for (const [name, fn] of Object.entries(benches)) {
  if (only !== 'all' && !only.split(',').includes(name)) continue;
  process.stderr.write(`running ${name}…\n`);
  sections.push(await fn());
}

const resultsPath = join(here, '..', '..', 'bench', 'RESULTS.md');
const report = mergeResults(existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '', sections, {
  command,
  date: new Date().toISOString(),
  machine,
});
process.stdout.write(`${report}\n`);
writeFileSync(resultsPath, `${report}\n`);
formatWithBiome(resultsPath);
