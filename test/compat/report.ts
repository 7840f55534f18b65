import { type Outcome, passed, type SubunitParse } from './subunit.js';

export interface Run {
  label: string;
  parse: SubunitParse;
  ms: number;
}

/**
 * The comparison as markdown: every test with its outcome in each run, the differences first. Every
 * sentence is derived from the results; nothing is written in advance.
 */
export function comparisonReport(o: {
  runs: Run[];
  suites: string[];
  command: string;
  setup: string;
  totalMs: number;
}): string {
  const [baseline, ...others] = o.runs;
  if (!baseline) throw new Error('no runs to compare');
  const outcome = (r: Run, name: string): Outcome | 'unfinished' | 'not run' => {
    const hit = r.parse.results.find((x) => x.name === name);
    if (hit) return hit.outcome;
    return r.parse.unfinished.includes(name) ? 'unfinished' : 'not run';
  };
  const names = [
    ...new Set(o.runs.flatMap((r) => [...r.parse.results.map((x) => x.name), ...r.parse.unfinished])),
  ].sort();
  const differs = (name: string) =>
    others.some((r) => passed(asOutcome(outcome(r, name))) !== passed(asOutcome(outcome(baseline, name))));
  const differing = names.filter(differs);
  const lines: string[] = [];
  lines.push('# smbtorture: clustered smbd through mccd beside its own listener', '');
  lines.push(`Produced by \`${o.command}\` (${Math.round(o.totalMs / 1000)} s in all).`, '');
  lines.push(`Setup: ${o.setup}.`, '');
  lines.push(`Suites: ${summariseSuites(o.suites)}.`, '');
  for (const r of o.runs) {
    const count = (f: (x: Outcome) => boolean) => r.parse.results.filter((x) => f(x.outcome)).length;
    lines.push(
      `- ${r.label}: ${r.parse.results.length} tests ran in ${Math.round(r.ms / 1000)} s: ${count(passed)} passed, ${count((x) => x === 'failure' || x === 'error' || x === 'uxsuccess')} failed, ${count((x) => x === 'skip')} skipped${r.parse.unfinished.length ? `, ${r.parse.unfinished.length} unfinished` : ''}.`,
    );
  }
  lines.push('');
  if (names.length === 0) {
    lines.push('No test produced a result in any run: nothing is compared.', '');
  } else if (differing.length === 0) {
    lines.push(`All ${names.length} tests have the same pass/fail outcome in every run.`, '');
  } else {
    lines.push(
      `${differing.length} of ${names.length} tests pass in one run and not in another (a bug of ours until shown otherwise):`,
      '',
    );
    lines.push(table(o.runs, differing, outcome, true), '');
  }
  lines.push('## Every test', '', table(o.runs, names, outcome, false), '');
  return lines.join('\n');
}

function asOutcome(x: Outcome | 'unfinished' | 'not run'): Outcome | undefined {
  return x === 'unfinished' || x === 'not run' ? undefined : x;
}

function table(
  runs: Run[],
  names: string[],
  outcome: (r: Run, name: string) => string,
  withReasons: boolean,
): string {
  const head = `| test | ${runs.map((r) => r.label).join(' | ')} |`;
  const rule = `| --- | ${runs.map(() => '---').join(' | ')} |`;
  const rows = names.map((name) => {
    const cells = runs.map((r) => {
      const o = outcome(r, name);
      const reason = withReasons ? r.parse.results.find((x) => x.name === name)?.reason : '';
      return reason ? `${o}: ${escapeCell(reason).slice(0, 160)}` : o;
    });
    return `| \`${name}\` | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** `smb2.session.bind1`, `smb2.session.bind2`, … as one `smb2.session.bind*` (43 suites). */
export function summariseSuites(suites: string[]): string {
  const groups = new Map<string, string[]>();
  for (const suite of suites) {
    // The last name cut at its first digit or underscore: bind1, bind_negative_smb202 → bind.
    const stem = suite.replace(/[0-9_][^.]*$/, '');
    groups.set(stem, [...(groups.get(stem) ?? []), suite]);
  }
  return [...groups.entries()]
    .map(([stem, members]) =>
      members.length === 1 ? `\`${members[0]}\`` : `\`${stem}*\` (${members.length} suites)`,
    )
    .join(', ');
}
