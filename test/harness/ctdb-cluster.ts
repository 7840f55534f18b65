import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeCtdbEtc } from './ctdb-etc.js';
import { type CtdbNodeRef, CtdbQueries } from './ctdb-queries.js';
import { deleteNamespace, ip, nsExec, pidAlive, runTag, waitFor } from './netns.js';

/**
 * A real ctdbd cluster (Debian's ctdb 4.17) with one network namespace per node, in normal mode, so the
 * stock 10.interface event script really adds and removes public IPs on each node's eth0. Nodes hang off a
 * bridge in a separate switch namespace: the root namespace gets no links and no addresses.
 */
export interface ClusterNode extends CtdbNodeRef {
  ns: string;
  dir: string;
  socket: string;
}

export interface ClusterOptions {
  nodes?: number;
  /** Public IPs in the cluster (default: one per node). */
  publicIps?: number;
  /** Extra event scripts (absolute paths), linked into every node's events/legacy. */
  eventScripts?: string[];
  /** Client namespaces on the same bridge (10.213.0.200 + i), for traffic to the nodes. */
  clients?: number;
  /** Environment passed to ctdbd (and so to event scripts), per node. */
  env?: (node: ClusterNode) => Record<string, string>;
  /** ctdb tunables beyond the harness's own (RerecoveryTimeout=1), e.g. a short KeepaliveInterval. */
  tunables?: Record<string, number>;
}

const execFileAsync = promisify(execFile);
const SUBNET = '10.213.0';
const CTDBD = '/usr/sbin/ctdbd';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function ctdbAvailable(): string | undefined {
  if (!existsSync(CTDBD)) return `${CTDBD} missing (run scripts/provision-test.sh)`;
  if (!existsSync('/usr/share/ctdb/events/legacy/10.interface.script')) return 'ctdb event scripts missing';
  return undefined;
}

export class CtdbTestCluster extends CtdbQueries<ClusterNode> {
  override readonly nodes: ClusterNode[] = [];
  override readonly publicIps: string[] = [];
  readonly clientNamespaces: { ns: string; address: string }[] = [];
  readonly switchNs: string;
  private readonly children = new Map<number, ChildProcess>();
  private stopped = false;

  private constructor(
    readonly tag: string,
    readonly baseDir: string,
    private readonly options: Required<Pick<ClusterOptions, 'nodes' | 'publicIps'>> & ClusterOptions,
  ) {
    super();
    this.switchNs = `mcc${tag}sw`;
  }

  static async start(options: ClusterOptions = {}): Promise<CtdbTestCluster> {
    const tag = runTag();
    const cluster = new CtdbTestCluster(tag, join(tmpdir(), `mcc-cluster-${tag}`), {
      nodes: options.nodes ?? 3,
      publicIps: options.publicIps ?? options.nodes ?? 3,
      ...options,
    });
    try {
      cluster.createNetwork();
      cluster.writeConfig();
      for (const node of cluster.nodes) cluster.launch(node);
      await cluster.waitHealthy(Number(process.env.MCC_CLUSTER_TIMEOUT_MS ?? 90_000));
      return cluster;
    } catch (error) {
      // MCC_KEEP_CLUSTER=1 leaves a cluster that failed to come up in place for inspection.
      if (process.env.MCC_KEEP_CLUSTER === '1') {
        process.stderr.write(`kept failed cluster ${tag} in ${cluster.baseDir}\n`);
      } else {
        await cluster.stop();
      }
      throw error;
    }
  }

  /**
   * Runs the ctdb CLI against one node's socket (test harness only; the daemon speaks the protocol).
   * Asynchronous on purpose: event scripts may call back into servers living in this process.
   */
  override async ctdb(pnn: number, args: string[], timeoutMs = 30_000): Promise<string> {
    const { stdout } = await execFileAsync('ctdb', args, {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { PATH, CTDB_SOCKET: this.node(pnn).socket, CTDB_BASE: join(this.node(pnn).dir, 'etc') },
    });
    return stdout;
  }

  /** SIGKILL ctdbd on a node and wait until its event daemon is gone too. */
  async kill9(pnn: number): Promise<void> {
    await this.signalAndWait(pnn, 'SIGKILL', 10_000);
  }

  /** Stops ctdbd on one node the way `systemctl stop ctdb` does (SIGTERM: it releases its IPs first). */
  async stopNode(pnn: number, timeoutMs = 30_000): Promise<void> {
    await this.signalAndWait(pnn, 'SIGTERM', timeoutMs);
  }

  private async signalAndWait(pnn: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const node = this.node(pnn);
    if (node.pid === undefined) return;
    const pid = node.pid;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
    await waitFor(`ctdbd ${pid} to exit`, timeoutMs, () => (pidAlive(pid) ? undefined : true), 50).catch(
      (error: Error) => {
        // A ctdbd that outlives SIGKILL is an error; one that ignores SIGTERM gets SIGKILL.
        if (signal === 'SIGKILL') throw error;
        if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      },
    );
    node.pid = undefined;
    await this.waitEventdGone(node);
  }

  /** Takes a node's switch port down (a partition: nothing reaches it, it reaches nothing) or up again. */
  setLink(pnn: number, up: boolean): void {
    ip('-n', this.switchNs, 'link', 'set', `v${this.tag}${pnn}`, up ? 'up' : 'down');
  }

  /** Starts ctdbd again on a node whose daemon was killed or stopped. */
  restart(pnn: number): void {
    this.launch(this.node(pnn));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const node of this.nodes) {
      if (node.pid !== undefined && pidAlive(node.pid)) {
        try {
          process.kill(node.pid, 'SIGTERM');
        } catch {
          // gone
        }
      }
    }
    await Promise.all(
      this.nodes.map((n) =>
        n.pid === undefined
          ? undefined
          : waitFor('ctdbd exit', 10_000, () => (pidAlive(n.pid!) ? undefined : true), 100).catch(() => {
              if (n.pid !== undefined && pidAlive(n.pid)) process.kill(n.pid, 'SIGKILL');
            }),
      ),
    );
    for (const node of this.nodes) await deleteNamespace(node.ns);
    for (const c of this.clientNamespaces) await deleteNamespace(c.ns);
    await deleteNamespace(this.switchNs);
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  logOf(pnn: number): string {
    // --interactive sends ctdbd's log to stdout, which launch() points at this file.
    const path = join(this.node(pnn).dir, 'ctdbd.stdout');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  private createNetwork(): void {
    ip('netns', 'add', this.switchNs);
    ip('-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.switchNs, 'link', 'set', 'br0', 'up');
    for (let pnn = 0; pnn < this.options.nodes; pnn++) {
      const ns = `mcc${this.tag}n${pnn}`;
      const dir = join(this.baseDir, `node${pnn}`);
      const node: ClusterNode = {
        pnn,
        ns,
        address: `${SUBNET}.${pnn + 1}`,
        dir,
        socket: join(dir, 'run', 'ctdbd.socket'),
        pid: undefined,
      };
      this.nodes.push(node);
      this.hostOnSwitch(ns, node.address, `v${this.tag}${pnn}`);
    }
    for (let i = 0; i < this.options.publicIps; i++) this.publicIps.push(`${SUBNET}.${101 + i}`);
    for (let i = 0; i < (this.options.clients ?? 0); i++) {
      const ns = `mcc${this.tag}c${i}`;
      const address = `${SUBNET}.${200 + i}`;
      this.hostOnSwitch(ns, address, `w${this.tag}${i}`);
      this.clientNamespaces.push({ ns, address });
    }
  }

  /**
   * A namespace with eth0 on the switch's bridge. Both veth ends are created inside their namespaces:
   * nothing appears in the root namespace.
   */
  private hostOnSwitch(ns: string, address: string, switchPort: string): void {
    ip('netns', 'add', ns);
    ip(
      'link',
      'add',
      'eth0',
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      switchPort,
      'netns',
      this.switchNs,
    );
    ip('-n', this.switchNs, 'link', 'set', switchPort, 'master', 'br0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  }

  private writeConfig(): void {
    for (const node of this.nodes) {
      const etc = join(node.dir, 'etc');
      for (const d of ['etc/events/legacy', 'run', 'lib/volatile', 'lib/persistent', 'lib/state'])
        mkdirSync(join(node.dir, d), { recursive: true });
      writeCtdbEtc(etc, {
        nodes: this.nodes.map((n) => n.address),
        publicIps: this.publicIps,
        ...(this.options.tunables ? { tunables: this.options.tunables } : {}),
        logLocation: `file:${join(node.dir, 'log.ctdbd')}`,
        extraConf: [
          '[database]',
          '\tvolatile database directory = /var/lib/ctdb/volatile',
          '\tpersistent database directory = /var/lib/ctdb/persistent',
          '\tstate database directory = /var/lib/ctdb/state',
        ],
        ...(this.options.eventScripts ? { eventScripts: this.options.eventScripts } : {}),
      });
      for (const f of ['functions', 'notify.sh', 'debug-hung-script.sh']) {
        if (existsSync(join('/etc/ctdb', f))) copyFileSync(join('/etc/ctdb', f), join(etc, f));
      }
    }
    for (const d of ['/etc/ctdb', '/run/ctdb', '/var/lib/ctdb']) mkdirSync(d, { recursive: true });
  }

  private launch(node: ClusterNode): void {
    const log = openSync(join(node.dir, 'ctdbd.stdout'), 'a');
    const env = Object.entries({ PATH, CTDB_BASE: '/etc/ctdb', ...(this.options.env?.(node) ?? {}) })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // `ip netns exec` gives the shell a private mount namespace: the binds below are this node's alone.
    const script = [
      `mount --bind ${node.dir}/etc /etc/ctdb`,
      `mount --bind ${node.dir}/run /run/ctdb`,
      `mount --bind ${node.dir}/lib /var/lib/ctdb`,
      `exec env -i ${env} ${CTDBD} --interactive`,
    ].join(' && ');
    const child = spawn('ip', ['netns', 'exec', node.ns, '/bin/sh', '-c', script], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    node.pid = child.pid;
    this.children.set(node.pnn, child);
    child.unref();
    child.once('exit', () => {
      if (node.pid === child.pid) node.pid = undefined;
    });
  }

  private async waitEventdGone(node: ClusterNode): Promise<void> {
    const pidFile = join(node.dir, 'run', 'eventd.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    await waitFor(`ctdb-eventd ${pid} to exit`, 15_000, () => (pidAlive(pid) ? undefined : true), 50).catch(
      () => {
        if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      },
    );
  }
}

/** Runs `fn` inside a node's namespace (for tests that query its interfaces). */
export function inNode(cluster: CtdbTestCluster, pnn: number, command: string[]): string {
  return nsExec(cluster.node(pnn).ns, command);
}
