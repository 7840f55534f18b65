import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareSmbdState } from '../../bench/smbd.js';
import { apiGet } from '../../cli/api-client.js';
import { projectRoot } from '../helpers/reference.js';
import type { CtdbTestCluster } from './ctdb-cluster.js';
import { lineSplitter, nsExec, pidAlive, waitFor } from './netns.js';
import { mccInterfacesLineArgv } from './smbd.js';

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
 * (which keeps its channels when mccd restarts and re-registers) or smbd started by mccd itself. As under
 * systemd's mccd.socket, the SMB front door is held by a supervisor across mccd's restarts: the real
 * `systemd-socket-activate` binds it and execs a bash loop that starts mccd with LISTEN_FDS whenever it
 * exits and `go` exists (Restart=), so clients connecting while mccd is down wait in the queue.
 */
export class NodeMccd {
  supervisor!: ChildProcess;
  worker: ChildProcess | undefined;
  smbdPassword = '';
  private smbdConf = '';
  readonly apiSocket: string;
  readonly workerSocket: string;
  private readonly logPath: string;
  private readonly goFile: string;
  private readonly pidFile: string;

  private constructor(
    private readonly cluster: CtdbTestCluster,
    readonly pnn: number,
    readonly options: Required<NodeMccdOptions>,
  ) {
    const node = cluster.node(pnn);
    this.apiSocket = join(node.dir, 'mccd.sock');
    this.workerSocket = join(node.dir, 'workers.sock');
    this.logPath = join(node.dir, 'mccd.log');
    this.goFile = join(node.dir, 'mccd.go');
    this.pidFile = join(node.dir, 'mccd.pid');
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
    m.startSupervisor();
    await m.startProcesses();
    return m;
  }

  get backend(): 'worker' | 'smbd' {
    return this.options.backend;
  }

  /** mccd's pid (the supervisor's subshell writes it before it execs node), undefined while it is down. */
  mccdPid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8'));
    return pid > 0 && pidAlive(pid) ? pid : undefined;
  }

  /** When the loop last started mccd: its pid file is written just before the exec. */
  startedAt(): number | undefined {
    const path = this.pidFile;
    return existsSync(path) ? statSync(path).mtimeMs : undefined;
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  /** systemd-socket-activate on the front door; it execs the restart loop at the first connection. */
  private startSupervisor(): void {
    const node = this.cluster.node(this.pnn);
    writeFileSync(this.goFile, '');
    // LISTEN_PID names the process the sockets are for: the subshell that execs node keeps its pid.
    const loop = [
      `touch ${this.pidFile}.run.started`,
      `while [ -e ${this.pidFile}.run ]; do`,
      `  if [ -e ${this.goFile} ]; then`,
      `    (echo $BASHPID > ${this.pidFile}; export LISTEN_PID=$BASHPID;`,
      `     exec ${process.execPath} ${join(projectRoot, 'dist/cli/mccd.js')} -c ${join(node.dir, 'mccd.json')}) >> ${this.logPath} 2>&1`,
      '  else sleep 0.05; fi',
      'done',
    ].join('\n');
    writeFileSync(`${this.pidFile}.run`, '');
    this.supervisor = spawn(
      'ip',
      [
        'netns',
        'exec',
        node.ns,
        'systemd-socket-activate',
        '-l',
        `0.0.0.0:${this.options.port}`,
        '--fdname=smb',
        'bash',
        '-c',
        loop,
      ],
      { stdio: ['ignore', 'ignore', 'ignore'], detached: true },
    );
  }

  /**
   * Lets mccd (re)start and waits until it answers, connected to ctdbd, as a new process. The first
   * time, one connection starts the activation (mccd then closes it: it carries no NEGOTIATE).
   */
  async startProcesses(): Promise<void> {
    await this.startAfter(this.mccdPid());
  }

  /** As startProcesses, for a new mccd that is not `before` (read before it was signalled). */
  private async startAfter(before: number | undefined): Promise<void> {
    const node = this.cluster.node(this.pnn);
    writeFileSync(this.goFile, '');
    if (!existsSync(`${this.pidFile}.run.started`)) {
      await waitFor(`front door of node ${this.pnn} bound`, 10_000, () => {
        try {
          nsExec(node.ns, ['bash', '-c', `exec 3<>/dev/tcp/${node.address}/${this.options.port}`]);
          return true;
        } catch {
          return undefined;
        }
      });
    }
    await waitFor(`mccd on node ${this.pnn} up and connected to ctdbd`, 20_000, async () => {
      if (this.supervisor.exitCode !== null)
        throw new Error(`mccd supervisor on node ${this.pnn} exited: ${this.log().slice(-800)}`);
      const pid = this.mccdPid();
      if (pid === undefined || pid === before || !existsSync(this.apiSocket)) return undefined;
      const s = await apiGet<{ clusterConnected: boolean; pid: number }>(
        { socketPath: this.apiSocket },
        '/v1/status',
      );
      return s.clusterConnected && s.pid === pid ? true : undefined;
    });
    // A worker that survived mccd's restart re-registers by itself.
    if (this.options.backend === 'worker' && (!this.worker || this.worker.exitCode !== null))
      await this.startWorker();
    else if (this.options.backend === 'smbd') await this.waitPoolReady();
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

  /** SIGKILL to mccd, not restarted until startProcesses(); the worker and smbd keep their channels. */
  async kill9Mccd(): Promise<void> {
    if (existsSync(this.goFile)) unlinkSync(this.goFile);
    const pid = this.mccdPid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    await waitFor(`mccd ${pid} gone`, 10_000, () => (pidAlive(pid) ? undefined : true), 20);
  }

  /** SIGTERM, and the supervisor starts mccd again at once, as `systemctl restart mccd` does. */
  async restart(): Promise<void> {
    const pid = this.mccdPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    await this.startAfter(pid);
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
    for (const f of [this.goFile, `${this.pidFile}.run`]) if (existsSync(f)) unlinkSync(f);
    const pid = this.mccdPid();
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      await waitFor(`mccd ${pid} exit`, 10_000, () => (pidAlive(pid) ? undefined : true), 20).catch(() =>
        process.kill(pid, 'SIGKILL'),
      );
    }
    await killAndWait(this.supervisor);
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
      const interfaces = nsExec(node.ns, [process.execPath, ...mccInterfacesLineArgv(node.socket)]).trim();
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

/**
 * `mcc probe` on the clients' side: one JSON line per channel event. In a client namespace (start) or
 * wherever a platform spawns it (attach, with how to stop it: `podman exec` forwards no signal).
 */
export class Probe {
  readonly events: {
    event: string;
    channel?: number;
    server?: string;
    dialect?: number | null;
    at: number;
  }[] = [];
  private constructor(
    readonly child: ChildProcess,
    private readonly stopper: () => Promise<void>,
  ) {}

  /** The arguments of `mcc probe` after the node binary. */
  static argv(guid: string, to: string[], port = 445): string[] {
    return [
      join(projectRoot, 'dist/cli/mcc.js'),
      'probe',
      '--guid',
      guid,
      '--to',
      to.join(','),
      '--port',
      String(port),
    ];
  }

  static start(ns: string, guid: string, to: string[], port = 445): Probe {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...Probe.argv(guid, to, port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return Probe.attach(child, () => killAndWait(child));
  }

  static attach(child: ChildProcess, stop: () => Promise<void>): Probe {
    const p = new Probe(child, stop);
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
    await this.stopper();
  }
}
