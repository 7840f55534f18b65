import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiGet } from '../../cli/api-client.js';
import { projectRoot } from '../helpers/reference.js';
import type { CtdbTestCluster } from './ctdb-cluster.js';
import { pidAlive, waitFor } from './netns.js';

/** mccd running inside one ctdbd node's namespace, as on a real node, plus a reference worker. */
export interface NodeMccd {
  pnn: number;
  apiSocket: string;
  workerSocket: string;
  mccd: ChildProcess;
  worker: ChildProcess | undefined;
  log(): string;
  stop(): Promise<void>;
}

async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  child.kill('SIGTERM');
  await waitFor(`pid ${pid} exit`, 10_000, () => (pidAlive(pid) ? undefined : true), 50).catch(() =>
    child.kill('SIGKILL'),
  );
}

export async function startNodeMccd(
  cluster: CtdbTestCluster,
  pnn: number,
  options: { port?: number; backend?: 'worker' } = {},
): Promise<NodeMccd> {
  const node = cluster.node(pnn);
  const apiSocket = join(node.dir, 'mccd.sock');
  const workerSocket = join(node.dir, 'workers.sock');
  const config = join(node.dir, 'mccd.json');
  writeFileSync(
    config,
    JSON.stringify({
      // The wildcard address catches public IPs that arrive on this node later.
      listen: [{ address: '0.0.0.0', port: options.port ?? 445 }],
      cluster: { backend: 'ctdbd', ctdbdSocket: node.socket },
      api: { socket: apiSocket },
      backend: { kind: 'worker', socket: workerSocket, teardownAckMs: 1000 },
      log: { level: 'info' },
    }),
  );
  const logPath = join(node.dir, 'mccd.log');
  const fd = openSync(logPath, 'a');
  const mccd = spawn(
    'ip',
    ['netns', 'exec', node.ns, process.execPath, join(projectRoot, 'dist/cli/mccd.js'), '-c', config],
    {
      stdio: ['ignore', fd, fd],
      detached: true,
    },
  );
  closeSync(fd);
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  await waitFor(`mccd on node ${pnn} up and connected to ctdbd`, 20_000, async () => {
    if (mccd.exitCode !== null) throw new Error(`mccd on node ${pnn} exited: ${log().slice(-800)}`);
    if (!existsSync(apiSocket)) return undefined;
    const s = await apiGet<{ clusterConnected: boolean }>({ socketPath: apiSocket }, '/v1/status');
    return s.clusterConnected ? true : undefined;
  });
  const worker = spawn(
    process.execPath,
    [join(projectRoot, 'dist/cli/mcc.js'), 'worker', '--worker-socket', workerSocket, '--id', `node${pnn}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let werr = '';
  worker.stderr?.on('data', (d) => {
    werr += d;
  });
  await waitFor(`worker on node ${pnn}`, 10_000, () => (werr.includes('registered') ? true : undefined), 20);
  return {
    pnn,
    apiSocket,
    workerSocket,
    mccd,
    worker,
    log,
    async stop() {
      await killAndWait(worker);
      await killAndWait(mccd);
    },
  };
}

/** `mcc probe` in a client namespace: one JSON line per channel event. */
export class Probe {
  readonly events: {
    event: string;
    channel?: number;
    server?: string;
    dialect?: number | null;
    at: number;
  }[] = [];
  private constructor(readonly child: ChildProcess) {}

  static start(ns: string, guid: string, to: string[], port = 445): Probe {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        join(projectRoot, 'dist/cli/mcc.js'),
        'probe',
        '--guid',
        guid,
        '--to',
        to.join(','),
        '--port',
        String(port),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const p = new Probe(child);
    let buffer = '';
    child.stdout?.on('data', (d) => {
      buffer += d;
      let i = buffer.indexOf('\n');
      while (i >= 0) {
        p.events.push(JSON.parse(buffer.slice(0, i)));
        buffer = buffer.slice(i + 1);
        i = buffer.indexOf('\n');
      }
    });
    return p;
  }

  negotiated(): number {
    return this.events.filter((e) => e.event === 'negotiated').length;
  }

  closed(): number {
    return this.events.filter((e) => e.event === 'closed').length;
  }

  async stop(): Promise<void> {
    await killAndWait(this.child);
  }
}
