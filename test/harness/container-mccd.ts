import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { smbdConf } from '../../bench/smbd.js';
import { apiGet } from '../../cli/api-client.js';
import { projectRoot } from '../helpers/reference.js';
import type { ContainerCluster } from './container-cluster.js';
import { waitFor } from './netns.js';

/**
 * mccd on one node container, handing clients to smbd with `clustering = yes` as deploy/smb.conf.snippet
 * tells operators: share modes, locks and sessions live in ctdbd's clustered databases, and every node
 * serves the same share (/srv/share, one host directory: the cluster filesystem). Pool (members forked
 * from a zygote) or spawn (`pool: 0`, one `smbd -i` exec'd per connection).
 */
export interface ContainerMccdOptions {
  /** smbd pool members (0: spawn one smbd per connection). */
  pool?: number;
  port?: number;
}

/** Paths inside every node container. */
export const SMB_CONF = '/etc/samba/smb.conf';
const SMBD_STATE = '/srv';
/** The share's directory on every node (smbdConf puts it at <state>/share): one host directory, the cluster filesystem. */
export const SHARE_PATH = `${SMBD_STATE}/share`;
const SMBD_LOG = '/var/log/mcc/smbd';
const MCCD_CONF = '/etc/mcc/mccd.json';
export const SMB_PASSWORD = 'mcc-test-pw';

/** smb.conf of a clustered node: the project's test smbd settings with clustering and this node's interfaces. */
export function clusteredSmbConf(interfacesLine: string): string {
  // smbdConf puts the share at <dir>/share, which is /srv/share, the mount every node shares; a later
  // `log file` overrides its default, so smbd's logs land in the node's log directory on the host.
  return smbdConf(SMBD_STATE, [
    'clustering = yes',
    'ctdbd socket = /run/ctdb/ctdbd.socket',
    interfacesLine,
    'bind interfaces only = no',
    `log file = ${SMBD_LOG}/log.%m`,
  ]);
}

/**
 * Writes every node's smb.conf (each announces its own fixed address, never a public IP) and root's
 * password, once: tdbsam is a clustered persistent database, so one smbpasswd serves every node.
 */
export async function prepareClusteredSmbd(cluster: ContainerCluster): Promise<void> {
  for (const node of cluster.nodes) {
    const line = (
      await cluster.sh(
        node,
        `/usr/local/bin/node ${join(projectRoot, 'dist/cli/mcc.js')} interfaces --smb-conf --offline --ctdb-socket /run/ctdb/ctdbd.socket`,
      )
    ).trim();
    if (!/^interfaces = /.test(line))
      throw new Error(`mcc interfaces --smb-conf on node ${node.pnn} printed ${JSON.stringify(line)}`);
    writeFileSync(join(node.dir, 'etc-samba', 'smb.conf'), clusteredSmbConf(line));
    mkdirSync(join(node.dir, 'log', 'smbd'), { recursive: true });
    await cluster.sh(
      node,
      `mkdir -p ${['private', 'lock', 'cache', 'pid', 'ncalrpc'].map((d) => `${SMBD_STATE}/state/${d}`).join(' ')}`,
    );
  }
  await cluster.sh(
    0,
    `printf '%s\\n%s\\n' ${SMB_PASSWORD} ${SMB_PASSWORD} | smbpasswd -a -s root >/dev/null`,
  );
}

export class ContainerMccd {
  /** mccd's pid inside the container while it runs. */
  private nsPid: number | undefined;
  private hostPidCache: { ns: number; host: number | undefined } | undefined;
  readonly apiSocket: string;
  readonly pool: number;
  readonly port: number;

  constructor(
    private readonly cluster: ContainerCluster,
    readonly pnn: number,
    options: ContainerMccdOptions = {},
  ) {
    this.pool = options.pool ?? 4;
    this.port = options.port ?? 445;
    this.apiSocket = join(cluster.node(pnn).dir, 'run-mcc', 'mccd.sock');
  }

  static async start(
    cluster: ContainerCluster,
    pnn: number,
    options: ContainerMccdOptions = {},
  ): Promise<ContainerMccd> {
    const m = new ContainerMccd(cluster, pnn, options);
    m.writeConfig();
    await m.startProcesses();
    return m;
  }

  get backend(): 'smbd' {
    return 'smbd';
  }

  log(): string {
    const path = join(this.cluster.node(this.pnn).dir, 'log', 'mccd.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** mccd's pid as the host sees it (the failover observer reads /proc/<pid>/fd), undefined while down. */
  mccdPid(): number | undefined {
    const ns = this.nsPid;
    if (ns === undefined) return undefined;
    if (this.hostPidCache?.ns !== ns) this.hostPidCache = { ns, host: this.cluster.hostPid(this.pnn, ns) };
    return this.hostPidCache.host;
  }

  private writeConfig(): void {
    writeFileSync(
      join(this.cluster.node(this.pnn).dir, 'etc-mcc', 'mccd.json'),
      JSON.stringify({
        // The wildcard address catches public IPs that arrive on this node later.
        listen: [{ address: '0.0.0.0', port: this.port }],
        cluster: { backend: 'ctdbd', ctdbdSocket: '/run/ctdb/ctdbd.socket' },
        api: { socket: '/run/mcc/mccd.sock' },
        backend: { kind: 'smbd', config: SMB_CONF, logDir: SMBD_LOG, pool: { size: this.pool } },
        log: { level: 'info' },
      }),
    );
  }

  async startProcesses(): Promise<void> {
    const out = await this.cluster.sh(
      this.pnn,
      `setsid /usr/local/bin/node ${join(projectRoot, 'dist/cli/mccd.js')} -c ${MCCD_CONF} >>/var/log/mcc/mccd.log 2>&1 </dev/null & echo $!`,
    );
    const pid = Number(out.trim());
    this.nsPid = pid;
    await waitFor(`mccd on node ${this.pnn} up and connected to ctdbd`, 30_000, async () => {
      const alive = await this.cluster.exec(this.pnn, ['kill', '-0', String(pid)]);
      if (alive.code !== 0) throw new Error(`mccd on node ${this.pnn} exited: ${this.log().slice(-800)}`);
      if (!existsSync(this.apiSocket)) return undefined;
      const s = await apiGet<{ clusterConnected: boolean }>({ socketPath: this.apiSocket }, '/v1/status');
      return s.clusterConnected ? true : undefined;
    });
    await this.waitPoolReady();
  }

  /** Until every pool member is started and waiting (at once in spawn mode). */
  async waitPoolReady(timeoutMs = 60_000): Promise<void> {
    if (this.pool === 0) return;
    await waitFor(`smbd pool on node ${this.pnn}`, timeoutMs, async () => {
      const s = await apiGet<{ backend: { pool?: { ready: number } } }>(
        { socketPath: this.apiSocket },
        '/v1/status',
      );
      return (s.backend.pool?.ready ?? 0) >= this.pool ? true : undefined;
    });
  }

  private async signal(signal: 'KILL' | 'TERM'): Promise<void> {
    const pid = this.nsPid;
    if (pid === undefined) return;
    await this.cluster.sh(
      this.pnn,
      `kill -${signal} ${pid} 2>/dev/null; i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; kill -KILL ${pid} 2>/dev/null; true`,
    );
    this.nsPid = undefined;
  }

  /** SIGKILL to mccd (smbd processes serving clients stay, as on a real node). */
  async kill9Mccd(): Promise<void> {
    await this.signal('KILL');
  }

  /** SIGTERM and start again, as `systemctl restart mccd` does. */
  async restart(): Promise<void> {
    await this.signal('TERM');
    await this.startProcesses();
  }

  /** smbd processes of this node holding client connections, by pid inside the container, with their peers. */
  async smbdServing(): Promise<Map<number, string[]>> {
    const out = await this.cluster.sh(this.pnn, `ss -tnpH state established '( sport = :${this.port} )'`);
    const byPid = new Map<number, string[]>();
    for (const line of out.split('\n')) {
      const peer = line.trim().split(/\s+/)[3];
      for (const m of line.matchAll(/"smbd",pid=(\d+)/g)) {
        const pid = Number(m[1]);
        byPid.set(pid, [...(byPid.get(pid) ?? []), peer ?? '?']);
      }
    }
    return byPid;
  }

  async killSmbd(pid: number): Promise<void> {
    await this.cluster.sh(this.pnn, `kill -KILL ${pid}`);
  }

  async stop(): Promise<void> {
    await this.signal('TERM');
  }
}
