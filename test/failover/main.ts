import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { containerEngineReason } from '../harness/container-engine.js';
import { projectRoot } from '../helpers/reference.js';
import { htmlReport, markdownReport, terminalSummary } from './report.js';
import { runProfile } from './run.js';
import { loadProfile, loadScenario, type Profile, ScenarioError } from './scenario.js';

/**
 * `npm run failover -- [options]`: simulated failovers of a real ctdbd cluster whose nodes are containers
 * (clustered smbd, the production replica) or network namespaces (--cluster netns), mccd and a backend on
 * every node, clients on their own container or namespace.
 * Exit status 0 when every assertion held, 1 when one failed, 2 when the run could not be made.
 */
const failoverDir = join(projectRoot, 'test', 'failover');

function preflight(cluster: 'containers' | 'netns'): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: containers or network namespaces, ctdbd, port 445';
  if (!existsSync(join(projectRoot, 'dist/cli/mccd.js'))) return 'dist/ missing (npm run build)';
  if (cluster === 'containers') return containerEngineReason();
  for (const p of [
    '/usr/sbin/ctdbd',
    '/usr/bin/ctdb',
    '/usr/sbin/smbd',
    '/usr/bin/smbclient',
    '/usr/sbin/ip',
    '/usr/bin/stdbuf',
  ])
    if (!existsSync(p) && !existsSync(p.replace('/usr', '')))
      return `${p} missing (run scripts/provision-test.sh)`;
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('failover')
    .description(
      'simulated cluster failovers: ctdbd + mccd + backend per node, in containers or network namespaces, with a report',
    )
    .option(
      '--profile <NAME|FILE>',
      'profile: short (CI, containers), restart (CI, containers: mccd restarts), full, or a profile YAML file',
      'short',
    )
    .option(
      '--scenario <NAME|FILE...>',
      'run only these scenarios (names in test/failover/scenarios or files)',
    )
    .option('--backend <KIND>', 'override the profile backend: smbd or worker (worker: netns only)')
    .option(
      '--cluster <KIND>',
      'override the profile cluster: containers (clustered smbd, the default) or netns (smbd without clustering)',
    )
    .option('--pool <N>', 'override the smbd pool size per node (0: one smbd spawned per connection)')
    .option('--nodes <N>', 'override the profile node count')
    .option('--clients <N>', 'override the number of simulated clients')
    .option(
      '--report <DIR>',
      'write report.md, report.html, <scenario>.svg and run.json here',
      'failover-report',
    )
    .option('--json', 'print the whole run as JSON on stdout (progress stays on stderr)')
    .option('--list', 'list profiles and scenarios, then exit')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    return (error as { exitCode?: number }).exitCode ?? 2;
  }
  const o = program.opts<{
    profile: string;
    scenario?: string[];
    backend?: string;
    cluster?: string;
    pool?: string;
    nodes?: string;
    clients?: string;
    report: string;
    json?: boolean;
    list?: boolean;
  }>();
  const progress = (line: string) =>
    process.stderr.write(`[failover ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  try {
    const fromName = (dir: string, name: string) =>
      name.includes('/') || name.endsWith('.yaml') ? resolve(name) : join(failoverDir, dir, `${name}.yaml`);
    if (o.list) {
      const { readdirSync } = await import('node:fs');
      for (const dir of ['profiles', 'scenarios']) {
        process.stdout.write(`${dir}:\n`);
        for (const f of readdirSync(join(failoverDir, dir))
          .filter((x) => x.endsWith('.yaml'))
          .sort()) {
          const item =
            dir === 'profiles'
              ? loadProfile(join(failoverDir, dir, f))
              : loadScenario(join(failoverDir, dir, f));
          process.stdout.write(`  ${item.name.padEnd(24)} ${item.description}\n`);
        }
      }
      return 0;
    }
    let profile: Profile = loadProfile(fromName('profiles', o.profile));
    if (o.backend) {
      if (o.backend !== 'smbd' && o.backend !== 'worker')
        throw new ScenarioError(`--backend: expected smbd or worker, got ${JSON.stringify(o.backend)}`);
      profile = { ...profile, backend: o.backend };
    }
    if (o.cluster) {
      if (o.cluster !== 'containers' && o.cluster !== 'netns')
        throw new ScenarioError(`--cluster: expected containers or netns, got ${JSON.stringify(o.cluster)}`);
      profile = { ...profile, cluster: o.cluster };
    }
    if (o.pool !== undefined) {
      const pool = Number(o.pool);
      if (!Number.isInteger(pool) || pool < 0 || pool > 64)
        throw new ScenarioError('--pool: expected an integer in 0..64');
      profile = { ...profile, smbdPool: pool };
    }
    if (profile.cluster === 'containers' && profile.backend !== 'smbd')
      throw new ScenarioError('--backend worker runs on network namespaces only: add --cluster netns');
    if (o.nodes) profile = { ...profile, nodes: Number(o.nodes) };
    if (o.clients) profile = { ...profile, clients: Number(o.clients) };
    if (!Number.isInteger(profile.nodes) || profile.nodes < 2 || profile.nodes > 8)
      throw new ScenarioError('--nodes: expected an integer in 2..8');
    if (!Number.isInteger(profile.clients) || profile.clients < 1 || profile.clients > 500)
      throw new ScenarioError('--clients: expected an integer in 1..500');
    const scenarios = (o.scenario ?? profile.scenarios).map((s) => loadScenario(fromName('scenarios', s)));
    const missing = preflight(profile.cluster);
    if (missing) {
      progress(`cannot run: ${missing}`);
      return 2;
    }
    progress(
      profile.cluster === 'containers'
        ? 'nodes as containers (podman through testcontainers), smbd with clustering = yes'
        : 'nodes as network namespaces, smbd with clustering = no',
    );
    const dir = resolve(o.report);
    const run = await runProfile(profile, scenarios, progress, join(dir, 'logs'));
    const command = ['npm run failover --', ...argv].join(' ').replace(/ --$/, '');
    mkdirSync(dir, { recursive: true });
    const { markdown, svgs } = markdownReport(run, command);
    writeFileSync(join(dir, 'report.md'), markdown);
    for (const [name, svg] of Object.entries(svgs)) writeFileSync(join(dir, name), svg);
    writeFileSync(join(dir, 'report.html'), htmlReport(run, command));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run, null, 1));
    process.stderr.write(`${terminalSummary(run)}\n`);
    progress(`report: ${join(dir, 'report.html')} and ${join(dir, 'report.md')}`);
    if (o.json) process.stdout.write(`${JSON.stringify(run)}\n`);
    return run.passed ? 0 : 1;
  } catch (error) {
    progress(error instanceof ScenarioError ? error.message : `failed: ${(error as Error).stack ?? error}`);
    return 2;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
