import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareSmbdState } from '../../bench/smbd.js';
import { apiGet } from '../../cli/api-client.js';
import { projectRoot } from '../helpers/reference.js';
import type { CtdbTestCluster } from './ctdb-cluster.js';
import { lineSplitter, nsExec, pidAlive, waitFor } from './netns.js';

const execFileAsync = promisify(execFile);

export interface NodeMccdOptions {
  port?: number;
  /** The reference worker (default) or real smbd in inetd mode. */
  backend?: 'worker' | 'smbd';
  /** Pre-started smbd processes (smbd backend only). */
  smbdPool?: number;
}

export async function killAndWait(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  child.kill(signal);
  await waitFor(`pid ${pid} exit`, 10_000, () => (pidAlive(pid) ? undefined : true), 20).catch(() =>
    child.kill('SIGKILL'),
  );
}

/**
 * mccd running inside one ctdbd node's namespace, as on a real node, with its backend: a reference worker
 * (which exits with mccd, as a unit bound to mccd's would) or smbd started by mccd itself. Processes can
 * be killed and started again, the way systemd restarts them.
 */
export class NodeMccd {
  mccd!: ChildProcess;
  worker: ChildProcess | undefined;
  smbdPassword = '';
  private smbdConf = '';
  readonly apiSocket: string;
  readonly workerSocket: string;
  private readonly logPath: string;

  private constructor(
    private readonly cluster: CtdbTestCluster,
    readonly pnn: number,
    readonly options: Required<NodeMccdOptions>,
  ) {
    const node = cluster.node(pnn);
    this.apiSocket = join(node.dir, 'mccd.sock');
    this.workerSocket = join(node.dir, 'workers.sock');
    this.logPath = join(node.dir, 'mccd.log');
  }

  static async start(
    cluster: CtdbTestCluster,
    pnn: number,
    options: NodeMccdOptions = {},
  ): Promise<NodeMccd> {
    const m = new NodeMccd(cluster, pnn, {
      port: options.port ?? 445,
      backend: options.backend ?? 'worker',
      smbdPool: options.smbdPool ?? 4,
    });
    await m.writeConfig();
    await m.startProcesses();
    return m;
  }

  get backend(): 'worker' | 'smbd' {
    return this.options.backend;
  }

  /** mccd's pid (ip netns exec execs it, so the spawned pid is mccd's own). */
  mccdPid(): number | undefined {
    return this.mccd.exitCode === null && this.mccd.signalCode === null ? this.mccd.pid : undefined;
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  async startProcesses(): Promise<void> {
    const node = this.cluster.node(this.pnn);
    const fd = openSync(this.logPath, 'a');
    this.mccd = spawn(
      'ip',
      [
        'netns',
        'exec',
        node.ns,
        process.execPath,
        join(projectRoot, 'dist/cli/mccd.js'),
        '-c',
        join(node.dir, 'mccd.json'),
      ],
      { stdio: ['ignore', fd, fd], detached: true },
    );
    closeSync(fd);
    const mccd = this.mccd;
    await waitFor(`mccd on node ${this.pnn} up and connected to ctdbd`, 20_000, async () => {
      if (mccd.exitCode !== null)
        throw new Error(`mccd on node ${this.pnn} exited: ${this.log().slice(-800)}`);
      if (!existsSync(this.apiSocket)) return undefined;
      const s = await apiGet<{ clusterConnected: boolean; pid: number }>(
        { socketPath: this.apiSocket },
        '/v1/status',
      );
      return s.clusterConnected && s.pid === mccd.pid ? true : undefined;
    });
    if (this.options.backend === 'worker') await this.startWorker();
    else await this.waitPoolReady();
  }

  async startWorker(): Promise<void> {
    const worker = spawn(
      process.execPath,
      [
        join(projectRoot, 'dist/cli/mcc.js'),
        'worker',
        '--worker-socket',
        this.workerSocket,
        '--id',
        `node${this.pnn}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.worker = worker;
    let werr = '';
    worker.stderr?.on('data', (d) => {
      werr += d;
    });
    await waitFor(`worker on node ${this.pnn}`, 10_000, () => {
      if (worker.exitCode !== null) throw new Error(`worker on node ${this.pnn} exited: ${werr}`);
      return werr.includes('registered') ? true : undefined;
    });
  }

  /** SIGKILL to mccd; a worker bound to it exits by itself (its channels with it). */
  async kill9Mccd(): Promise<void> {
    await killAndWait(this.mccd, 'SIGKILL');
    await killAndWait(this.worker, 'SIGTERM');
  }

  /** SIGTERM and start again, as `systemctl restart mccd` does (smbd keeps its connections meanwhile). */
  async restart(): Promise<void> {
    await killAndWait(this.worker);
    await killAndWait(this.mccd);
    await this.startProcesses();
  }

  async killSmbd(pid: number): Promise<void> {
    process.kill(pid, 'SIGKILL');
  }

  async kill9Worker(): Promise<void> {
    await killAndWait(this.worker, 'SIGKILL');
  }

  /** smbd processes of this node that hold client connections (not idle pool members), by pid. */
  async smbdServing(): Promise<Map<number, string[]>> {
    const node = this.cluster.node(this.pnn);
    const { stdout } = await execFileAsync('ip', [
      'netns',
      'exec',
      node.ns,
      'ss',
      '-tnpH',
      'state',
      'established',
      `( sport = :${this.options.port} )`,
    ]);
    const byPid = new Map<number, string[]>();
    for (const line of stdout.split('\n')) {
      const cols = line.trim().split(/\s+/);
      const peer = cols[3];
      for (const m of line.matchAll(/"smbd",pid=(\d+)/g)) {
        const pid = Number(m[1]);
        byPid.set(pid, [...(byPid.get(pid) ?? []), peer ?? '?']);
      }
    }
    return byPid;
  }

  async stop(): Promise<void> {
    await killAndWait(this.worker);
    await killAndWait(this.mccd);
    if (this.smbdConf)
      await execFileAsync('pkill', ['-KILL', '-f', `smbd -i -s ${this.smbdConf}`]).catch(() => undefined);
  }

  private async writeConfig(): Promise<void> {
    const node = this.cluster.node(this.pnn);
    let backend: Record<string, unknown>;
    if (this.options.backend === 'smbd') {
      const dir = join(node.dir, 'smbd');
      // As deploy/smb.conf.snippet tells operators: smbd announces exactly what mcc computes for this
      // node (`mcc interfaces --smb-conf`, public IPs from ctdbd left out), never its addresses at large.
      const interfaces = nsExec(node.ns, [
        process.execPath,
        join(projectRoot, 'dist/cli/mcc.js'),
        'interfaces',
        '--smb-conf',
        '--offline',
        '--ctdb-socket',
        node.socket,
      ]).trim();
      if (!/^interfaces = /.test(interfaces))
        throw new Error(
          `mcc interfaces --smb-conf on node ${this.pnn} printed ${JSON.stringify(interfaces)}`,
        );
      const s = await prepareSmbdState(dir, [interfaces, 'bind interfaces only = no']);
      this.smbdConf = s.confPath;
      this.smbdPassword = s.password;
      backend = {
        kind: 'smbd',
        config: s.confPath,
        logDir: join(dir, 'log'),
        pool: { size: this.options.smbdPool },
      };
    } else {
      backend = { kind: 'worker', socket: this.workerSocket, teardownAckMs: 1000 };
    }
    writeFileSync(
      join(node.dir, 'mccd.json'),
      JSON.stringify({
        // The wildcard address catches public IPs that arrive on this node later.
        listen: [{ address: '0.0.0.0', port: this.options.port }],
        cluster: { backend: 'ctdbd', ctdbdSocket: node.socket },
        api: { socket: this.apiSocket },
        backend,
        log: { level: 'info' },
      }),
    );
  }

  /** Until every pool member is started and waiting (smbd backend; at once for the worker). */
  async waitPoolReady(timeoutMs = 60_000): Promise<void> {
    if (this.options.backend !== 'smbd' || this.options.smbdPool === 0) return;
    await waitFor(`smbd pool on node ${this.pnn}`, timeoutMs, async () => {
      const s = await apiGet<{ backend: { pool?: { ready: number } } }>(
        { socketPath: this.apiSocket },
        '/v1/status',
      );
      return (s.backend.pool?.ready ?? 0) >= this.options.smbdPool ? true : undefined;
    });
  }
}

export async function startNodeMccd(
  cluster: CtdbTestCluster,
  pnn: number,
  options: NodeMccdOptions = {},
): Promise<NodeMccd> {
  return NodeMccd.start(cluster, pnn, options);
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
    child.stdout?.on(
      'data',
      lineSplitter((line) => p.events.push(JSON.parse(line))),
    );
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
