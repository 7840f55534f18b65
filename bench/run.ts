import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, machineLine, median, runChild } from './stats.js';

/**
 * `npm run bench [-- --only B3] [-- --repeat 3] [-- --clients 100000]`: runs each benchmark in fresh
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

interface Section {
  title: string;
  lines: string[];
}
const sections: Section[] = [];

function b3(): Section {
  type R = {
    eventsPerSec: number;
    bytesPerClient: number;
    snapshotRestoreMs: number;
    createMs: number;
    wakeAllMs: number;
    check: number;
  };
  const script = join(here, 'b3-statecharts.js');
  const reg: R[] = [];
  const base: R[] = [];
  for (let i = 0; i < repeat; i++) {
    reg.push(runChild<R>(script, [String(clients), 'registry']));
    base.push(runChild<R>(script, [String(clients), 'baseline']));
  }
  for (const r of reg)
    if (r.check !== clients) throw new Error(`B3 restore produced ${r.check} clients, expected ${clients}`);
  const m = (rs: R[], k: keyof R) => median(rs.map((r) => r[k]));
  const bytes = m(reg, 'bytesPerClient');
  const eps = m(reg, 'eventsPerSec');
  const sr = m(reg, 'snapshotRestoreMs');
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
  return {
    title: `B3 statecharts: ${fmt(clients)} clients × 4 channels (median of ${repeat} fresh processes)`,
    lines: [
      '| measure | mcc (XState registry) | baseline (plain Map of objects) | ratio | target | |',
      '| --- | --- | --- | --- | --- | --- |',
      `| memory per client | ${fmt(bytes / 1024)} KB | ${fmt(m(base, 'bytesPerClient') / 1024)} KB | ${fmt(bytes / m(base, 'bytesPerClient'))}× | ≤ 8 KB | ${verdict(bytes <= 8192)} |`,
      `| channel events/s | ${fmt(eps)} | ${fmt(m(base, 'eventsPerSec'))} | ${fmt(eps / m(base, 'eventsPerSec'), 3)}× | ≥ 100,000 | ${verdict(eps >= 100_000)} |`,
      `| snapshot + restore | ${fmt(sr)} ms | ${fmt(m(base, 'snapshotRestoreMs'))} ms (JSON round trip) | ${fmt(sr / m(base, 'snapshotRestoreMs'))}× | < 2,000 ms | ${verdict(sr < 2000)} |`,
      `| waking every restored client (one event each) | ${fmt(m(reg, 'wakeAllMs'))} ms | | | (restore is lazy: actors are created on first use) | |`,
      `| create (4 accepts each) | ${fmt(m(reg, 'createMs'))} ms | ${fmt(m(base, 'createMs'))} ms | ${fmt(m(reg, 'createMs') / m(base, 'createMs'))}× | | |`,
    ],
  };
}

const benches: Record<string, () => Section> = { B3: b3 };
for (const [name, fn] of Object.entries(benches)) {
  if (only !== 'all' && only !== name) continue;
  process.stderr.write(`running ${name}…\n`);
  sections.push(fn());
}

const report = [
  '# Benchmark results',
  '',
  `Command: \`${command}\`  `,
  `Machine: ${machineLine()}  `,
  `Date: ${new Date().toISOString()}`,
  '',
  'Each figure is the median of fresh-process repetitions; ratios compare against a baseline measured in the same run.',
  '',
  ...sections.flatMap((s) => [`## ${s.title}`, '', ...s.lines, '']),
].join('\n');
process.stdout.write(`${report}\n`);
writeFileSync(join(here, '..', '..', 'bench', 'RESULTS.md'), `${report}\n`);
