/**
 * Samba's own multi-channel tests (smbtorture smb2.multichannel, smb2.session.bind*, smb2.replay) against
 * clustered smbd (`clustering = yes`) on a real ctdbd cluster, once through smbd's own listener and once
 * through mccd (pool, then spawn mode), same smb.conf, same node, same client. Any difference is a bug of
 * ours until shown otherwise. Writes a markdown report.
 *
 *   npm run smbtorture-compare -- [--out docs/smbtorture.md] [--suites smb2.multichannel,...]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { formatWithBiome } from '../../bench/format-doc.js';
import { CLUSTERED_PASSWORD, ClusteredSmbdNode } from '../harness/clustered-smbd.js';
import { CtdbTestCluster } from '../harness/ctdb-cluster.js';
import { waitFor } from '../harness/netns.js';
import { comparisonReport, type Run } from './report.js';
import { parseSubunit } from './subunit.js';

const execFileAsync = promisify(execFile);

/** The session-bind tests by name: `smb2.session` as a whole also runs reauth, expiry and encryption tests. */
async function defaultSuites(): Promise<string[]> {
  const { stdout } = await execFileAsync('smbtorture', ['--list'], { maxBuffer: 16 << 20 });
  const binds = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^smb2\.session\.bind[^.]*\.[^.]+$/.test(l))
    .map((l) => l.replace(/\.[^.]+$/, ''));
  return ['smb2.multichannel', ...new Set(binds), 'smb2.replay'];
}

async function torture(cluster: CtdbTestCluster, suites: string[], timeoutMs: number): Promise<string> {
  const argv = [
    'netns',
    'exec',
    cluster.clientNamespaces[0]!.ns,
    'smbtorture',
    `//${cluster.node(0).address}/share`,
    '-U',
    `root%${CLUSTERED_PASSWORD}`,
    '--format=subunit',
    ...suites,
  ];
  return new Promise((resolve) => {
    execFile('ip', argv, { timeout: timeoutMs, maxBuffer: 64 << 20, cwd: tmpdir() }, (_error, stdout) =>
      resolve(stdout),
    );
  });
}

/** smbd as a daemon with its own listener on port 445, in ctdbd's mount namespace (clustered paths). */
async function ownListener(cluster: CtdbTestCluster, node: ClusteredSmbdNode): Promise<() => Promise<void>> {
  const pid = cluster.node(0).pid!;
  const daemon = spawn(
    'nsenter',
    ['-t', String(pid), '-m', '-n', '--', 'setsid', 'smbd', '-F', '--no-process-group', '-s', node.confPath],
    { stdio: 'ignore', detached: true },
  );
  await waitFor('smbd listening on 445 in node 0', 30_000, async () => {
    const { stdout } = await execFileAsync('ip', [
      'netns',
      'exec',
      cluster.node(0).ns,
      'ss',
      '-Htln',
      'sport = :445',
    ]);
    return stdout.trim() ? true : undefined;
  });
  return async () => {
    await execFileAsync('pkill', ['-TERM', '-f', `smbd -F --no-process-group -s ${node.confPath}`]).catch(
      () => undefined,
    );
    await waitFor('smbd daemon gone', 20_000, () =>
      daemon.exitCode !== null || daemon.signalCode ? true : undefined,
    ).catch(() => daemon.kill('SIGKILL'));
    await execFileAsync('pkill', ['-KILL', '-f', `smbd -F --no-process-group -s ${node.confPath}`]).catch(
      () => undefined,
    );
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'docs/smbtorture.md' },
      suites: { type: 'string' },
      'timeout-min': { type: 'string', default: '10' },
    },
  });
  const suites = values.suites ? values.suites.split(',') : await defaultSuites();
  const timeoutMs = Number(values['timeout-min']) * 60_000;
  const { stdout: version } = await execFileAsync('smbd', ['--version']);
  const started = Date.now();
  const cluster = await CtdbTestCluster.start({ nodes: 2, clients: 1 });
  const runs: Run[] = [];
  try {
    const share = join(cluster.baseDir, 'share');
    mkdirSync(share, { recursive: true });
    const node = new ClusteredSmbdNode(cluster, 0, share);
    await node.prepare(true);
    const configs: { label: string; start: () => Promise<() => Promise<void>> }[] = [
      { label: "smbd's own listener", start: () => ownListener(cluster, node) },
      {
        label: 'through mccd, pool of 4',
        start: async () => {
          await node.startMccd(4);
          return () => node.stop();
        },
      },
      {
        label: 'through mccd, spawn mode',
        start: async () => {
          await node.startMccd(0);
          return () => node.stop();
        },
      },
    ];
    for (const c of configs) {
      const t0 = Date.now();
      const stop = await c.start();
      process.stderr.write(`smbtorture-compare: ${c.label}: running ${suites.length} suite(s)\n`);
      try {
        // One smbtorture per suite: when one dies mid-suite (smb2.multichannel.leases.test4 does, in every
        // run), the suites after it still run.
        let output = '';
        for (const suite of suites) output += `${await torture(cluster, [suite], timeoutMs)}\n`;
        runs.push({ label: c.label, parse: parseSubunit(output), ms: Date.now() - t0 });
      } finally {
        await stop();
      }
    }
  } finally {
    await cluster.stop();
  }
  const command = `npm run smbtorture-compare -- --out ${values.out}${values.suites ? ` --suites ${values.suites}` : ''}`;
  const text = comparisonReport({
    runs,
    suites,
    command,
    setup: `smbd ${version.trim()} with clustering = yes on a 2-node ctdbd cluster in network namespaces (smbd and mccd in ctdbd's mount namespace); client in a namespace of its own; one smb.conf for every run`,
    totalMs: Date.now() - started,
  });
  writeFileSync(values.out!, text);
  formatWithBiome(values.out!);
  process.stdout.write(text);
}

main().catch((error: Error) => {
  process.stderr.write(`smbtorture-compare: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
