import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { smbdConf } from '../../bench/smbd.js';
import { apiGet } from '../../cli/api-client.js';
import { projectRoot } from '../helpers/reference.js';
import type { ContainerCluster } from './container-cluster.js';
import { pidAlive, waitFor } from './netns.js';

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
/** mccd's runtime directory inside a node (the node's run-mcc on the host): API socket, state file. */
const RUN_MCC = '/run/mcc';
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

/**
 * mccd on one node container as a node runs it under deploy/systemd's mccd.socket: the real
 * `systemd-socket-activate` (from the image's systemd) binds the SMB front door and execs a bash loop
 * that starts mccd with LISTEN_FDS whenever it exits and `mccd.go` exists (Restart=), so clients
 * connecting while mccd is down wait in the queue, and mccd's state file (/run/mcc/state.json, on the
 * host in the node's run-mcc) carries its clients across the restart (docs/restart.md). As
 * cluster-mccd.ts does on network namespaces.
 */
export class ContainerMccd {
  private hostPidCache: { ns: number; host: number | undefined } | undefined;
  readonly apiSocket: string;
  readonly pool: number;
  readonly port: number;
  /** The loop's control files, in /run/mcc (the node's run-mcc on the host): the host reads and writes them directly. */
  private readonly runDir: string;
  private supervisorPid: number | undefined;

  constructor(
    private readonly cluster: ContainerCluster,
    readonly pnn: number,
    options: ContainerMccdOptions = {},
  ) {
    this.pool = options.pool ?? 4;
    this.port = options.port ?? 445;
    this.runDir = join(cluster.node(pnn).dir, 'run-mcc');
    this.apiSocket = join(this.runDir, 'mccd.sock');
  }

  static async start(
    cluster: ContainerCluster,
    pnn: number,
    options: ContainerMccdOptions = {},
  ): Promise<ContainerMccd> {
    const m = new ContainerMccd(cluster, pnn, options);
    m.writeConfig();
    await m.startSupervisor();
    await m.startProcesses();
    return m;
  }

  get backend(): 'smbd' {
    return 'smbd';
  }

  /** When the loop last started mccd: its pid file is written just before the exec. */
  startedAt(): number | undefined {
    const path = join(this.runDir, 'mccd.pid');
    return existsSync(path) ? statSync(path).mtimeMs : undefined;
  }

  log(): string {
    const path = join(this.cluster.node(this.pnn).dir, 'log', 'mccd.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** mccd's pid inside the container (the loop's subshell writes it before it execs node), undefined while down. */
  private nsPid(): number | undefined {
    const path = join(this.runDir, 'mccd.pid');
    if (!existsSync(path)) return undefined;
    const pid = Number(readFileSync(path, 'utf8'));
    return pid > 0 ? pid : undefined;
  }

  /** mccd's pid as the host sees it (the failover observer reads /proc/<pid>/fd), undefined while down. */
  mccdPid(): number | undefined {
    const ns = this.nsPid();
    if (ns === undefined) return undefined;
    const cached = this.hostPidCache;
    if (cached?.ns === ns && cached.host !== undefined && pidAlive(cached.host)) return cached.host;
    this.hostPidCache = { ns, host: this.cluster.hostPid(this.pnn, ns) };
    return this.hostPidCache.host;
  }

  private writeConfig(): void {
    writeFileSync(
      join(this.cluster.node(this.pnn).dir, 'etc-mcc', 'mccd.json'),
      JSON.stringify({
        // The wildcard address catches public IPs that arrive on this node later.
        listen: [{ address: '0.0.0.0', port: this.port }],
        cluster: { backend: 'ctdbd', ctdbdSocket: '/run/ctdb/ctdbd.socket' },
        api: { socket: `${RUN_MCC}/mccd.sock` },
        backend: { kind: 'smbd', config: SMB_CONF, logDir: SMBD_LOG, pool: { size: this.pool } },
        log: { level: 'info' },
      }),
    );
  }

  /** systemd-socket-activate on the front door, in a session of its own; it execs the loop at the first connection. */
  private async startSupervisor(): Promise<void> {
    writeFileSync(join(this.runDir, 'mccd.go'), '');
    writeFileSync(join(this.runDir, 'mccd.run'), '');
    // LISTEN_PID names the process the sockets are for: the subshell that execs node keeps its pid.
    const loop = [
      `touch ${RUN_MCC}/mccd.run.started`,
      `while [ -e ${RUN_MCC}/mccd.run ]; do`,
      `  if [ -e ${RUN_MCC}/mccd.go ]; then`,
      `    (echo $BASHPID > ${RUN_MCC}/mccd.pid; export LISTEN_PID=$BASHPID;`,
      `     exec /usr/local/bin/node ${join(projectRoot, 'dist/cli/mccd.js')} -c ${MCCD_CONF}) >>/var/log/mcc/mccd.log 2>&1`,
      '  else sleep 0.05; fi',
      'done',
    ].join('\n');
    // The loop has no single quote of its own: it goes into the container's sh quoted whole.
    const script = `setsid systemd-socket-activate -l 0.0.0.0:${this.port} --fdname=smb bash -c '${loop}' >/dev/null 2>&1 </dev/null & echo $!`;
    this.supervisorPid = Number((await this.cluster.sh(this.pnn, script)).trim());
  }

  /**
   * Lets mccd (re)start and waits until it answers, connected to ctdbd, as a new process. The first
   * time, one connection starts the activation (mccd then closes it: it carries no NEGOTIATE).
   */
  async startProcesses(): Promise<void> {
    await this.startAfter(this.nsPid());
  }

  /** As startProcesses, for a new mccd that is not `before` (read before it was signalled). */
  private async startAfter(before: number | undefined): Promise<void> {
    const node = this.cluster.node(this.pnn);
    writeFileSync(join(this.runDir, 'mccd.go'), '');
    if (!existsSync(join(this.runDir, 'mccd.run.started')))
      await waitFor(`front door of node ${this.pnn} bound`, 10_000, async () => {
        const r = await this.cluster.exec(this.pnn, [
          'bash',
          '-c',
          `exec 3<>/dev/tcp/${node.address}/${this.port}`,
        ]);
        return r.code === 0 ? true : undefined;
      });
    await waitFor(`mccd on node ${this.pnn} up and connected to ctdbd`, 30_000, async () => {
      const sup = this.supervisorPid;
      if (sup !== undefined && (await this.cluster.exec(this.pnn, ['kill', '-0', String(sup)])).code !== 0)
        throw new Error(`mccd supervisor on node ${this.pnn} exited: ${this.log().slice(-800)}`);
      const pid = this.nsPid();
      if (pid === undefined || pid === before || !existsSync(this.apiSocket)) return undefined;
      const s = await apiGet<{ clusterConnected: boolean; pid: number }>(
        { socketPath: this.apiSocket },
        '/v1/status',
      ).catch(() => undefined);
      return s?.clusterConnected && s.pid === pid ? true : undefined;
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

  /** Signals mccd and waits (bounded, inside the container) until it is gone. */
  private async signal(signal: 'KILL' | 'TERM'): Promise<void> {
    const pid = this.nsPid();
    if (pid === undefined) return;
    await this.cluster.sh(
      this.pnn,
      `kill -${signal} ${pid} 2>/dev/null; i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; kill -KILL ${pid} 2>/dev/null; true`,
    );
  }

  /** SIGKILL to mccd, not restarted until startProcesses(); smbd processes serving clients stay, as on a real node. */
  async kill9Mccd(): Promise<void> {
    rmSync(join(this.runDir, 'mccd.go'), { force: true });
    await this.signal('KILL');
  }

  /** SIGTERM, and the loop starts mccd again at once, as `systemctl restart mccd` does. */
  async restart(): Promise<void> {
    const pid = this.nsPid();
    if (pid !== undefined) await this.cluster.sh(this.pnn, `kill -TERM ${pid} 2>/dev/null; true`);
    // The old pid, not the pid file after the exec above: the loop may have started the new mccd by then.
    await this.startAfter(pid);
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
    for (const f of ['mccd.go', 'mccd.run']) rmSync(join(this.runDir, f), { force: true });
    await this.signal('TERM');
    if (this.supervisorPid !== undefined)
      await this.cluster.sh(this.pnn, `kill -TERM ${this.supervisorPid} 2>/dev/null; true`);
    this.supervisorPid = undefined;
  }
}
