import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerCluster } from '../harness/container-cluster.js';
import { projectRoot } from '../helpers/reference.js';
import type { FailoverRig } from './rig.js';

/**
 * Where the hostile steps run their processes, whichever way the cluster is made: the attacker on the
 * clients' side (the client container, or the client namespace), the CPU hog on a node (inside its
 * container; on the namespace cluster the nodes share the host's CPUs, so on the host). Every command
 * is bounded by `timeout -s KILL`.
 */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ClientSide {
  /** The client box's own address: the extra source addresses are taken from its /24. */
  readonly address: string;
  /** node (the one the project runs with there) and a script of dist/, with arguments. */
  node(script: string, args: string[], timeoutMs: number, prefix?: string[]): Promise<Ran>;
  /** Adds (or removes) an address on the client box's eth0, for attackers with addresses of their own. */
  address_(op: 'add' | 'del', address: string): Promise<void>;
}

const dist = join(projectRoot, 'dist');

function run(argv: string[], timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    execFile(
      'timeout',
      ['-s', 'KILL', seconds, ...argv],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export function clientSide(rig: FailoverRig): ClientSide {
  const cluster = rig.cluster;
  if (cluster instanceof ContainerCluster) {
    const box = cluster.clients[0];
    if (!box) throw new Error('the container cluster has no client container');
    return {
      address: box.address,
      node: (script, args, timeoutMs, prefix = []) =>
        cluster.exec(box, [...prefix, '/usr/local/bin/node', join(dist, script), ...args], timeoutMs),
      async address_(op, address) {
        const r = await cluster.exec(box, ['ip', 'addr', op, `${address}/24`, 'dev', 'eth0']);
        if (r.code !== 0 && op === 'add') throw new Error(`ip addr add ${address}: ${r.stderr.trim()}`);
      },
    };
  }
  const ns = (cluster as { clientNamespaces?: { ns: string; address: string }[] }).clientNamespaces?.[0];
  if (!ns) throw new Error('this platform has no client container or namespace');
  return {
    address: ns.address,
    node: (script, args, timeoutMs, prefix = []) =>
      run(
        ['ip', 'netns', 'exec', ns.ns, ...prefix, process.execPath, join(dist, script), ...args],
        timeoutMs,
      ),
    async address_(op, address) {
      const r = await run(['ip', '-n', ns.ns, 'addr', op, `${address}/24`, 'dev', 'eth0'], 10_000);
      if (r.code !== 0 && op === 'add') throw new Error(`ip addr add ${address}: ${r.stderr.trim()}`);
    },
  };
}

/** `n` addresses on the client box's /24 (.220 and up: above the nodes, clients and public IPs). */
export function extraSources(side: ClientSide, n: number, from = 220): string[] {
  const prefix = side.address.split('.').slice(0, 3).join('.');
  return Array.from({ length: n }, (_, i) => `${prefix}.${from + i}`);
}

/** The pids of busy loops pinned one per CPU beside mccd on a node, and how to kill them by pid. */
export interface Hogs {
  pids: number[];
  cpus: number[];
  kill(): Promise<{ left: number }>;
}

/**
 * One `sh` busy loop per CPU mccd may run on (taskset -c N), each under `timeout -s KILL` so it ends by
 * itself after `boundMs` whatever happens to the harness; kill() ends them earlier by pid (SIGTERM to
 * `timeout`, which passes it on to the loop) and says how many were still there a second later.
 */
export async function startHogs(rig: FailoverRig, pnn: number, boundMs: number): Promise<Hogs> {
  const seconds = Math.max(1, Math.ceil(boundMs / 1000));
  const cluster = rig.cluster;
  const loop = 'while :; do :; done';
  if (cluster instanceof ContainerCluster) {
    const cpus = await cpuList(
      (await cluster.sh(pnn, `taskset -pc $(pgrep -o -f 'dist/cli/mccd.js') | sed 's/.*: //'`)).trim(),
    );
    const out = await cluster.sh(
      pnn,
      cpus
        .map(
          (c) =>
            `setsid timeout -s KILL ${seconds} taskset -c ${c} sh -c '${loop}' >/dev/null 2>&1 </dev/null & echo $!`,
        )
        .join('\n'),
    );
    const pids = out.trim().split(/\s+/).map(Number);
    return {
      pids,
      cpus,
      async kill() {
        await cluster.sh(pnn, `kill -TERM ${pids.join(' ')} 2>/dev/null; true`);
        await new Promise((r) => setTimeout(r, 1000));
        const left = await cluster.sh(
          pnn,
          `n=0; for p in ${pids.join(' ')}; do kill -0 $p 2>/dev/null && n=$((n+1)); done; echo $n`,
        );
        return { left: Number(left.trim()) };
      },
    };
  }
  const pid = rig.mccd(pnn).mccdPid();
  const affinity = pid === undefined ? '0' : (await run(['taskset', '-pc', String(pid)], 5000)).stdout;
  const cpus = await cpuList(affinity.replace(/.*: /, '').trim());
  const children = cpus.map((c) =>
    spawn('timeout', ['-s', 'KILL', String(seconds), 'taskset', '-c', String(c), 'sh', '-c', loop], {
      stdio: 'ignore',
    }),
  );
  return {
    pids: children.map((c) => c.pid!),
    cpus,
    async kill() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1000));
      return { left: children.filter((c) => c.exitCode === null && c.signalCode === null).length };
    },
  };
}

/** "0-1,3" → [0, 1, 3]. */
function cpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out.length ? out : [0];
}

/** How many fds the process has open now (undefined: gone, or no pid). */
export function fdCount(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}
