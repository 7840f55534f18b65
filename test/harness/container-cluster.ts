import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { projectRoot } from '../helpers/reference.js';
import {
  acquireEngine,
  hostPidOf,
  nodeImage,
  podman,
  releaseEngine,
  TEST_LABEL,
} from './container-engine.js';
import { writeCtdbEtc } from './ctdb-etc.js';
import { type CtdbNodeRef, CtdbQueries } from './ctdb-queries.js';
import { ip, runTag } from './netns.js';

/**
 * A ctdbd cluster whose nodes are containers (podman through testcontainers), as in production: each node
 * has its own network stack, mount namespace and filesystem (/etc/ctdb, /var/lib/ctdb, /etc/samba,
 * /var/lib/samba, /run), runs real ctdbd in normal mode (the stock 10.interface really moves public IPs
 * on its eth0) and whatever the test starts beside it (clustered smbd, mccd). Client containers sit on the
 * same network. The network is `internal`: nothing leaves it, and the host gets no firewall rules.
 * The host's node binary and this project are bind-mounted read-only at their host paths (Debian's
 * nodejs is 18; the project needs 20), and one host directory is the cluster filesystem at /srv/share.
 */
export interface ContainerNode extends CtdbNodeRef {
  name: string;
  /** The node's directory on the host: etc-ctdb, etc-samba, etc-mcc, run-mcc and log are mounted from it. */
  dir: string;
  container: StartedTestContainer;
  /** Host pid of the container's init (tini). */
  initPid: number;
}

export interface ClientBox {
  name: string;
  address: string;
  /** Mounted at /client in the client container. */
  dir: string;
  container: StartedTestContainer;
}

export interface ContainerClusterOptions {
  nodes?: number;
  publicIps?: number;
  clients?: number;
  /** Extra event scripts, as paths that exist inside the containers (the project is mounted at its host path). */
  eventScripts?: string[];
  tunables?: Record<string, number>;
  /** Extra bind mounts for the client containers, given the cluster's host directory. */
  clientMounts?: (baseDir: string) => { source: string; target: string; mode: 'ro' | 'rw' }[];
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SHARE = '/srv/share';
export const CLIENT_DIR = '/client';

export class ContainerCluster extends CtdbQueries<ContainerNode> {
  override readonly nodes: ContainerNode[] = [];
  override readonly publicIps: string[] = [];
  readonly clients: ClientBox[] = [];
  readonly networkName: string;
  /** The host directory every node mounts at /srv/share (the cluster filesystem). */
  readonly shareDir: string;
  private subnet = '';
  private stopped = false;
  private networkId: string | undefined;

  private constructor(
    readonly tag: string,
    readonly baseDir: string,
    private readonly options: ContainerClusterOptions,
  ) {
    super();
    this.networkName = `mcc-${tag}`;
    this.shareDir = join(baseDir, 'share');
  }

  static async start(options: ContainerClusterOptions = {}): Promise<ContainerCluster> {
    const tag = runTag();
    const cluster = new ContainerCluster(tag, join(tmpdir(), `mcc-ctr-${tag}`), options);
    await acquireEngine();
    try {
      await cluster.createNetwork();
      await cluster.startContainers(options.nodes ?? 3, options.clients ?? 1);
      for (let i = 0; i < (options.publicIps ?? options.nodes ?? 3); i++)
        cluster.publicIps.push(`${cluster.subnet}.${101 + i}`);
      for (const node of cluster.nodes) cluster.writeCtdbConfig(node);
      await cluster.completeCtdbEtc();
      await Promise.all(cluster.nodes.map((n) => cluster.startCtdbd(n.pnn)));
      await cluster.waitHealthy(Number(process.env.MCC_CLUSTER_TIMEOUT_MS ?? 90_000));
      return cluster;
    } catch (error) {
      if (process.env.MCC_KEEP_CLUSTER === '1') {
        process.stderr.write(`kept failed container cluster ${tag} in ${cluster.baseDir}\n`);
      } else {
        await cluster.stop();
      }
      throw error;
    }
  }

  /**
   * Runs a command in a node or client container, bounded by `timeout` inside it (the Docker API's exec
   * has no deadline of its own).
   */
  async exec(
    target: ContainerNode | ClientBox | number,
    argv: string[],
    timeoutMs = 30_000,
  ): Promise<ExecResult> {
    const box = typeof target === 'number' ? this.node(target) : target;
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    const r = await box.container.exec(['timeout', '-s', 'KILL', seconds, ...argv]);
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  /** A shell script in a container; throws with its output when it exits non-zero. */
  async sh(target: ContainerNode | ClientBox | number, script: string, timeoutMs = 30_000): Promise<string> {
    const r = await this.exec(target, ['sh', '-c', script], timeoutMs);
    if (r.code !== 0)
      throw new Error(`\`${script}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
    return r.stdout;
  }

  override async ctdb(pnn: number, args: string[], timeoutMs = 30_000): Promise<string> {
    const r = await this.exec(pnn, ['ctdb', ...args], timeoutMs);
    if (r.code !== 0)
      throw new Error(`ctdb ${args.join(' ')} on node ${pnn} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts ctdbd on a node (again): in the foreground of a session of its own, its log in the node's log dir. */
  async startCtdbd(pnn: number): Promise<void> {
    const node = this.node(pnn);
    const pid = await this.sh(
      node,
      'mkdir -p /run/ctdb && setsid /usr/sbin/ctdbd --interactive >>/var/log/mcc/ctdbd.stdout 2>&1 </dev/null & echo $!',
    );
    node.pid = Number(pid.trim());
  }

  /** SIGKILL ctdbd on a node and wait until its event daemon is gone too (before it may start again). */
  async kill9(pnn: number): Promise<void> {
    await this.signalCtdbd(pnn, 'KILL', 10);
  }

  /** Stops ctdbd the way `systemctl stop ctdb` does (SIGTERM: it releases its IPs first). */
  async stopNode(pnn: number): Promise<void> {
    await this.signalCtdbd(pnn, 'TERM', 30);
  }

  /** Starts ctdbd again on a node whose daemon was killed or stopped. */
  async restart(pnn: number): Promise<void> {
    await this.startCtdbd(pnn);
  }

  private async signalCtdbd(pnn: number, signal: 'KILL' | 'TERM', seconds: number): Promise<void> {
    const node = this.node(pnn);
    if (node.pid === undefined) return;
    // Bounded waits inside the container; a ctdbd that ignores SIGTERM gets SIGKILL, and the event daemon
    // must be gone before a new ctdbd starts (it would find the old one's socket).
    await this.sh(
      node,
      [
        `pid=${node.pid}; kill -${signal} $pid 2>/dev/null`,
        `i=0; while kill -0 $pid 2>/dev/null && [ $i -lt ${seconds * 20} ]; do sleep 0.05; i=$((i+1)); done`,
        'kill -KILL $pid 2>/dev/null',
        'e=$(cat /run/ctdb/eventd.pid 2>/dev/null)',
        'i=0; while [ -n "$e" ] && kill -0 $e 2>/dev/null && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done',
        '[ -n "$e" ] && kill -KILL $e 2>/dev/null; true',
      ].join('; '),
      (seconds + 20) * 1000,
    );
    node.pid = undefined;
  }

  /**
   * Takes a node's switch port down (a partition: nothing reaches it, it reaches nothing) or up again:
   * the host end of the node's veth, found by the peer index its eth0 reports, as the namespace cluster
   * takes its switch port down. The node's own eth0 stays configured, as a node behind a dead switch
   * port would.
   */
  async setLink(pnn: number, up: boolean): Promise<void> {
    const peer = (await this.sh(pnn, 'cat /sys/class/net/eth0/iflink')).trim();
    const line = ip('-o', 'link', 'show')
      .split('\n')
      .find((l) => l.startsWith(`${peer}: `));
    const name = line?.split(': ')[1]?.split('@')[0];
    if (!name) throw new Error(`no host link with index ${peer} for node ${pnn}'s eth0`);
    ip('link', 'set', 'dev', name, up ? 'up' : 'down');
  }

  /** The host pid of a process a node container knows as `nsPid`. */
  hostPid(pnn: number, nsPid: number): number | undefined {
    return hostPidOf(this.node(pnn).initPid, nsPid);
  }

  logOf(pnn: number): string {
    const path = join(this.node(pnn).dir, 'log', 'ctdbd.stdout');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const boxes = [...this.nodes, ...this.clients];
    await Promise.all(boxes.map((b) => b.container.stop({ timeout: 2 }).catch(() => undefined)));
    try {
      podman(['rm', '-f', '-t', '0', ...boxes.map((b) => b.name)]);
    } catch {
      // already removed (testcontainers removes on stop)
    }
    if (this.networkId) {
      try {
        podman(['network', 'rm', '-f', this.networkName]);
      } catch {
        // gone
      }
    }
    await releaseEngine();
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  /**
   * An internal bridge network on a /24 of 10.214.0.0/16 no other network here uses: internal, so
   * netavark adds no NAT or filter rules to the host and the containers reach nothing outside it.
   */
  private async createNetwork(): Promise<void> {
    const used = new Set(
      podman(['network', 'ls', '--format', '{{range .Subnets}}{{.Subnet}} {{end}}'])
        .split(/\s+/)
        .filter(Boolean),
    );
    const client = await getContainerRuntimeClient();
    for (let attempt = 0; attempt < 10; attempt++) {
      const third = 1 + Math.floor(Math.random() * 250);
      if (used.has(`10.214.${third}.0/24`)) continue;
      try {
        const network = await client.network.create({
          Name: this.networkName,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: `10.214.${third}.0/24` }] },
          Labels: { [TEST_LABEL]: this.tag },
        });
        this.networkId = network.id;
        this.subnet = `10.214.${third}`;
        return;
      } catch (error) {
        if (attempt === 9) throw error;
      }
    }
    throw new Error('no free /24 in 10.214.0.0/16 for the test network');
  }

  private async startContainers(nodes: number, clients: number): Promise<void> {
    mkdirSync(this.shareDir, { recursive: true });
    const common = [
      { source: process.execPath, target: '/usr/local/bin/node', mode: 'ro' as const },
      { source: projectRoot, target: projectRoot, mode: 'ro' as const },
    ];
    const box = (name: string, mounts: { source: string; target: string; mode: 'ro' | 'rw' }[]) =>
      new GenericContainer(nodeImage())
        .withPullPolicy({ shouldPull: () => false })
        .withName(name)
        .withHostname(name.replace(`mcc-${this.tag}-`, ''))
        .withNetworkMode(this.networkName)
        .withPrivilegedMode()
        .withLabels({ [TEST_LABEL]: this.tag })
        // tini reaps what a killed daemon leaves behind, so a pid that is gone is really gone.
        .withEntrypoint(['/usr/bin/tini', '--', 'sleep', 'infinity'])
        .withBindMounts([...common, ...mounts])
        .start();
    const nodeMounts = (dir: string) => {
      for (const d of ['etc-ctdb/events/legacy', 'etc-samba', 'etc-mcc', 'run-mcc', 'log'])
        mkdirSync(join(dir, d), { recursive: true });
      return [
        { source: join(dir, 'etc-ctdb'), target: '/etc/ctdb', mode: 'rw' as const },
        { source: join(dir, 'etc-samba'), target: '/etc/samba', mode: 'rw' as const },
        { source: join(dir, 'etc-mcc'), target: '/etc/mcc', mode: 'rw' as const },
        { source: join(dir, 'run-mcc'), target: '/run/mcc', mode: 'rw' as const },
        { source: join(dir, 'log'), target: '/var/log/mcc', mode: 'rw' as const },
        { source: this.shareDir, target: SHARE, mode: 'rw' as const },
      ];
    };
    const nodeBoxes = Array.from({ length: nodes }, (_, pnn) => {
      const name = `mcc-${this.tag}-node${pnn}`;
      const dir = join(this.baseDir, `node${pnn}`);
      return box(name, nodeMounts(dir)).then((container) => ({ pnn, name, dir, container }));
    });
    const clientBoxes = Array.from({ length: clients }, (_, i) => {
      const name = `mcc-${this.tag}-client${i}`;
      const dir = join(this.baseDir, `client${i}`);
      mkdirSync(dir, { recursive: true });
      const extra = this.options.clientMounts?.(this.baseDir) ?? [];
      return box(name, [{ source: dir, target: CLIENT_DIR, mode: 'rw' }, ...extra]).then((container) => ({
        name,
        dir,
        container,
      }));
    });
    const started = await Promise.allSettled([...nodeBoxes, ...clientBoxes]);
    const failed = started.find((s) => s.status === 'rejected');
    for (const s of started) {
      if (s.status !== 'fulfilled') continue;
      const b = s.value;
      const address = b.container.getIpAddress(this.networkName);
      if ('pnn' in b) {
        const initPid = Number(podman(['inspect', '-f', '{{.State.Pid}}', b.name]).trim());
        this.nodes.push({ ...b, address, initPid, pid: undefined });
      } else this.clients.push({ ...b, address });
    }
    this.nodes.sort((a, b) => a.pnn - b.pnn);
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private writeCtdbConfig(node: ContainerNode): void {
    writeCtdbEtc(join(node.dir, 'etc-ctdb'), {
      nodes: this.nodes.map((n) => n.address),
      publicIps: this.publicIps,
      ...(this.options.tunables ? { tunables: this.options.tunables } : {}),
      logLocation: 'file:/var/log/mcc/log.ctdbd',
      ...(this.options.eventScripts ? { eventScripts: this.options.eventScripts } : {}),
    });
  }

  /** The image's stock /etc/ctdb files (functions, notify.sh, ...) under the node's own config. */
  private async completeCtdbEtc(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.sh(n, 'cp -an /usr/share/mcc-ctdb-etc/. /etc/ctdb/')));
  }
}
