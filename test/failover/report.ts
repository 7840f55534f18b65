import { percentile } from './assertions.js';
import type { Marker, ScenarioRecord } from './record.js';
import type { FailoverRun, ScenarioRun } from './run.js';

/**
 * The failover report: a terminal summary, a Markdown file and a self-contained HTML file whose SVG
 * timelines show channels per node over time with the cluster's events as markers. Pure functions of a run.
 */
const NODE_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const MARKER_COLOURS: Record<Marker['kind'], string> = {
  action: '#333333',
  'ip-released': '#d62728',
  'ip-taken': '#2ca02c',
  'ctdbd-lost': '#ff7f0e',
  'ctdbd-restored': '#17becf',
};

function ms(v: number | undefined): string {
  return v === undefined ? '–' : `${Math.round(v)}`;
}

function triple(values: number[]): string {
  if (values.length === 0) return '–';
  return `${ms(percentile(values, 50))} / ${ms(percentile(values, 95))} / ${ms(Math.max(...values))}`;
}

function fdCell(r: ScenarioRecord): string {
  return r.fds
    .map((f) => (f.samePid ? `${f.before}→${f.after}` : `restarted (${f.after ?? '–'})`))
    .join(', ');
}

export interface SummaryRow {
  scenario: string;
  result: string;
  clients: string;
  teardown: string;
  reconnect: string;
  smbclient: string;
  fds: string;
}

export function summaryRows(run: FailoverRun): SummaryRow[] {
  return run.scenarios.map(({ record, result }) => ({
    scenario: record.name,
    result: result.passed ? 'PASS' : `FAIL (${result.violations.length})`,
    clients: `${result.affectedClients} torn down / ${result.untouchedClients} untouched`,
    teardown: triple(result.latencies.teardownMs),
    reconnect: triple(result.latencies.reconnectMs),
    smbclient: `${result.smbclientLost} lost, back ${triple(result.latencies.smbclientRestoreMs)}`,
    fds: fdCell(record),
  }));
}

const HEADERS: Record<keyof SummaryRow, string> = {
  scenario: 'scenario',
  result: 'result',
  clients: 'simulated clients',
  teardown: 'teardown ms p50/p95/max',
  reconnect: 'reconnect ms p50/p95/max',
  smbclient: 'smbclient sessions',
  fds: 'mccd fds before→after',
};

export function terminalSummary(run: FailoverRun): string {
  const rows = summaryRows(run);
  const keys = Object.keys(HEADERS) as (keyof SummaryRow)[];
  const widths = keys.map((k) => Math.max(HEADERS[k].length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [
    line(keys.map((k) => HEADERS[k])),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(keys.map((k) => r[k]))),
  ];
  for (const { record, result } of run.scenarios) {
    for (const v of result.violations) out.push(`✗ ${record.name}: ${v.rule}: ${v.message}`);
  }
  out.push(
    `${run.passed ? 'all scenarios passed' : 'FAILED'}: profile ${run.profile.name}, ${run.profile.nodes} nodes, ${run.profile.backend} backend, ${(run.totalMs / 1000).toFixed(0)} s (cluster up in ${(run.setupMs / 1000).toFixed(0)} s)`,
  );
  return out.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Channels per node over time (step lines) with event markers; x is seconds from the scenario's start. */
export function timelineSvg(record: ScenarioRecord): string {
  const width = 920;
  const height = 300;
  const left = 48;
  const right = 16;
  const top = 20;
  const bottom = 70;
  const t0 = record.startAt;
  const tMin = Math.min(record.samples[0]?.at ?? t0, t0);
  const tMax = Math.max(record.endAt, tMin + 1000);
  const maxChannels = Math.max(1, ...record.samples.flatMap((s) => s.channels.map((c) => c ?? 0)));
  const x = (at: number) => left + ((at - tMin) / (tMax - tMin)) * (width - left - right);
  const y = (c: number) => top + (1 - c / maxChannels) * (height - top - bottom);
  // Nodes with equal counts would hide each other: each line sits a little lower than the previous one.
  const yNode = (c: number, i: number) => y(c) + i * 2;
  const parts: string[] = [];
  parts.push(
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="#fafafa" stroke="#ccc"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const c = Math.round((maxChannels * i) / 4);
    parts.push(`<text x="${left - 6}" y="${y(c) + 4}" font-size="10" text-anchor="end">${c}</text>`);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(c)}" y2="${y(c)}" stroke="#eee"/>`);
  }
  const span = (tMax - tMin) / 1000;
  const tick = span > 120 ? 30 : span > 40 ? 10 : span > 15 ? 5 : 1;
  for (let s = Math.ceil((tMin - t0) / 1000 / tick) * tick; s <= (tMax - t0) / 1000; s += tick) {
    const px = x(t0 + s * 1000);
    parts.push(
      `<text x="${px}" y="${height - bottom + 14}" font-size="10" text-anchor="middle">${s}s</text>`,
    );
  }
  record.nodes.forEach((n, i) => {
    let d = '';
    let previous: number | null = null;
    for (const s of record.samples) {
      const c = s.channels[i] ?? null;
      if (c === null) {
        previous = null;
        continue;
      }
      d +=
        previous === null
          ? `M${x(s.at).toFixed(1)},${yNode(c, i).toFixed(1)}`
          : `H${x(s.at).toFixed(1)}V${yNode(c, i).toFixed(1)}`;
      previous = c;
    }
    const colour = NODE_COLOURS[i % NODE_COLOURS.length]!;
    if (d)
      parts.push(
        `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"><title>node ${n.pnn} channels</title></path>`,
      );
    parts.push(`<rect x="${left + i * 90}" y="${height - 22}" width="12" height="4" fill="${colour}"/>`);
    parts.push(`<text x="${left + i * 90 + 16}" y="${height - 17}" font-size="11">node ${n.pnn}</text>`);
  });
  const legend: Marker['kind'][] = ['action', 'ip-released', 'ip-taken', 'ctdbd-lost'];
  legend.forEach((k, i) => {
    const lx = left + record.nodes.length * 90 + i * 110;
    parts.push(
      `<line x1="${lx}" x2="${lx + 12}" y1="${height - 20}" y2="${height - 20}" stroke="${MARKER_COLOURS[k]}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${lx + 16}" y="${height - 17}" font-size="11">${k}</text>`);
  });
  let actionIndex = 0;
  for (const m of record.markers) {
    const px = x(m.at).toFixed(1);
    const colour = MARKER_COLOURS[m.kind];
    if (m.kind === 'action') {
      actionIndex++;
      parts.push(
        `<line x1="${px}" x2="${px}" y1="${top}" y2="${height - bottom}" stroke="${colour}" stroke-dasharray="4,3"><title>${escapeXml(m.label)}</title></line>`,
      );
      parts.push(
        `<text x="${Number(px) + 3}" y="${top + 10 + ((actionIndex - 1) % 4) * 11}" font-size="10">${actionIndex}</text>`,
      );
    } else {
      parts.push(
        `<line x1="${px}" x2="${px}" y1="${height - bottom - 10}" y2="${height - bottom}" stroke="${colour}" stroke-width="2"><title>${escapeXml(m.label)}</title></line>`,
      );
    }
  }
  parts.push(
    `<text x="${left}" y="${height - bottom + 30}" font-size="11">channels per node (mccd's own count, every 250 ms); numbered dashed lines are the harness's actions</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img"><title>${escapeXml(`${record.name}: channels per node over time`)}</title>${parts.join('')}</svg>`;
}

function actionList(record: ScenarioRecord): string[] {
  return record.markers
    .filter((m) => m.kind === 'action')
    .map((m, i) => `${i + 1}. +${((m.at - record.startAt) / 1000).toFixed(2)} s — ${m.label}`);
}

/** What the harness found out (recorded as it is) and checked itself (fresh connections, share modes, notify). */
function findingsAndChecks(record: ScenarioRun['record']): string[] {
  const checks = record.checks ?? [];
  const findings = record.findings ?? [];
  return [
    ...(findings.length === 0
      ? []
      : [
          'Found (recorded as it is, not judged):',
          '',
          ...findings.map((f) => `- ${f.label}: ${f.detail}`),
          '',
        ]),
    ...(checks.length === 0 ? [] : checksLines(checks)),
  ];
}

function checksLines(checks: NonNullable<ScenarioRun['record']['checks']>): string[] {
  return [
    `Checks by the harness (${checks.filter((c) => c.ok).length} of ${checks.length} held):`,
    '',
    ...checks.map((c) => `- ${c.ok ? 'held' : '**failed**'}: ${c.label} — ${c.detail}`),
    '',
  ];
}

function scenarioMarkdown(run: ScenarioRun, svgName: string | undefined): string {
  const { record, result } = run;
  const lines = [
    `## ${record.name}: ${result.passed ? 'PASS' : 'FAIL'}`,
    '',
    record.description,
    '',
    `Steps: ${record.steps.join('; ')}.`,
    '',
    ...(svgName ? [`![timeline of ${record.name}](${svgName})`, ''] : []),
    ...actionList(record),
    '',
    `Events from mccd: ${record.markers.filter((m) => m.kind === 'ip-released').length} RELEASE_IP, ${record.markers.filter((m) => m.kind === 'ip-taken').length} TAKE_IP, ${record.markers.filter((m) => m.kind === 'ctdbd-lost').length} ctdbd lost.`,
    '',
    serverAnswersLine(record),
    '',
    ...findingsAndChecks(record),
    `Teardown (action → last channel closed) ms p50/p95/max: ${triple(result.latencies.teardownMs)}; reconnect (first close → all channels back) ms: ${triple(result.latencies.reconnectMs)}; smbclient sessions lost: ${result.smbclientLost}, back after ms: ${triple(result.latencies.smbclientRestoreMs)}.`,
    '',
  ];
  if (result.violations.length > 0) {
    lines.push('Violations:', '', ...result.violations.map((v) => `- **${v.rule}**: ${v.message}`), '');
  }
  return lines.join('\n');
}

function summaryMarkdown(run: FailoverRun): string {
  const keys = Object.keys(HEADERS) as (keyof SummaryRow)[];
  return [
    `| ${keys.map((k) => HEADERS[k]).join(' | ')} |`,
    `|${keys.map(() => '---').join('|')}|`,
    ...summaryRows(run).map((r) => `| ${keys.map((k) => r[k]).join(' | ')} |`),
  ].join('\n');
}

function smbConfMarkdown(smbConf: string): string[] {
  return [
    "smbd's configuration on node 0 (the other nodes differ only in `interfaces =`):",
    '',
    '```ini',
    smbConf.trimEnd(),
    '```',
    '',
  ];
}

function preamble(run: FailoverRun, command: string): string[] {
  return [
    `Command: \`${command}\``,
    '',
    ...(run.smbConf ? smbConfMarkdown(run.smbConf) : []),
    `Run ${new Date(run.startedAt).toISOString()}: profile **${run.profile.name}** (${run.profile.description}) — ${run.platform}, ${run.profile.clients} simulated multi-channel clients, ${run.profile.backend === 'smbd' ? run.profile.smbclientSessions : 0} smbclient sessions; cluster up in ${(run.setupMs / 1000).toFixed(0)} s, ${(run.totalMs / 1000).toFixed(0)} s in all. **${run.passed ? 'Every assertion held.' : 'Some assertions failed.'}**`,
  ];
}

/** Markdown report; timelines as SVG files named `<scenario>.svg` beside it. */
export function markdownReport(
  run: FailoverRun,
  command: string,
): { markdown: string; svgs: Record<string, string> } {
  const svgs: Record<string, string> = {};
  const sections = run.scenarios.map((s) => {
    const name = `${s.record.name}.svg`;
    svgs[name] = timelineSvg(s.record);
    return scenarioMarkdown(s, name);
  });
  return {
    markdown: [
      `# mcc failover report — ${run.profile.name}`,
      '',
      ...preamble(run, command),
      '',
      summaryMarkdown(run),
      '',
      ...sections,
    ].join('\n'),
    svgs,
  };
}

/** One HTML file, nothing loaded from elsewhere. */
export function htmlReport(run: FailoverRun, command: string): string {
  const rows = summaryRows(run);
  const keys = Object.keys(HEADERS) as (keyof SummaryRow)[];
  const table = `<table><tr>${keys.map((k) => `<th>${HEADERS[k]}</th>`).join('')}</tr>${rows
    .map(
      (r) =>
        `<tr class="${r.result === 'PASS' ? 'pass' : 'fail'}">${keys.map((k) => `<td>${escapeXml(r[k])}</td>`).join('')}</tr>`,
    )
    .join('')}</table>`;
  const sections = run.scenarios
    .map(({ record, result }) => {
      const violations = result.violations.length
        ? `<ul class="violations">${result.violations.map((v) => `<li><b>${v.rule}</b>: ${escapeXml(v.message)}</li>`).join('')}</ul>`
        : '<p class="pass">Every assertion held.</p>';
      return `<section><h2>${record.name}: ${result.passed ? 'PASS' : 'FAIL'}</h2><p>${escapeXml(record.description)}</p>${timelineSvg(record)}<ol>${record.markers
        .filter((m) => m.kind === 'action')
        .map((m) => `<li>+${((m.at - record.startAt) / 1000).toFixed(2)} s — ${escapeXml(m.label)}</li>`)
        .join(
          '',
        )}</ol><p>Teardown ms p50/p95/max: ${triple(result.latencies.teardownMs)}; reconnect ms: ${triple(result.latencies.reconnectMs)}; smbclient sessions lost: ${result.smbclientLost}.</p>${violations}</section>`;
    })
    .join('');
  const intro = preamble(run, command)
    .map((p) => p.replace(/\*\*(.+?)\*\*/g, '<b>$1</b>').replace(/`(.+?)`/g, '<code>$1</code>'))
    .filter(Boolean)
    .map((p) => `<p>${p}</p>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mcc failover report — ${run.profile.name}</title><style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left}tr.fail td{background:#fde8e8}.pass{color:#2a7a2a}.violations{color:#a00}section{margin-top:2em}</style></head><body><h1>mcc failover report — ${run.profile.name}</h1>${intro}${table}${sections}</body></html>`;
}

/** How the scenario learned what servers told clients, with the counts behind it. */
function serverAnswersLine(record: ScenarioRecord): string {
  const inWindow = (at: number) => at >= record.startAt && at <= record.endAt;
  if (record.serverInterfaces === 'client-fsctl') {
    const told = record.lines.filter(
      (l) => l.kind === 'client' && l.event === 'announced' && l.source === 'fsctl' && inWindow(l.at),
    ).length;
    return `Interface lists from the worker's own FSCTL answer to the simulated clients: ${told}.`;
  }
  const probes = record.lines.filter((l) => l.kind === 'probe' && inWindow(l.at));
  const answered = probes.filter((l) => l.kind === 'probe' && l.event === 'answered').length;
  return `smbd's own FSCTL_QUERY_NETWORK_INTERFACE_INFO answer, asked by smbtorture through each public IP in turn: ${answered} of ${probes.length} probes answered.`;
}
