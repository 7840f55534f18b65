import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiGet } from '../../cli/api-client.js';
import { projectRoot } from '../helpers/reference.js';
import { killAndWait } from './cluster-mccd.js';
import type { CtdbTestCluster } from './ctdb-cluster.js';
import { waitFor } from './netns.js';
import { mccInterfacesLineArgv, smbdConf } from './smbd.js';

const execFileAsync = promisify(execFile);
export const CLUSTERED_PASSWORD = 'mcc-clustered-pw';

/**
 * smbd with `clustering = yes` behind mccd on one node of a netns ctdbd cluster.
 *
 * ctdbd hands smbd database paths as they look in ctdbd's own mount namespace (the harness binds each
 * node's directories over /var/lib/ctdb there); `ip netns exec` would give smbd a fresh mount namespace
 * where those paths do not resolve. So mccd and the smbd it starts enter ctdbd's mount and network
 * namespaces (`nsenter -t <ctdbd pid> -m -n`). They stay in that mount namespace when ctdbd restarts:
 * the binds lead to the same directories.
 */
export class ClusteredSmbdNode {
  mccd: ChildProcess | undefined;
  readonly dir: string;
  readonly apiSocket: string;
  readonly confPath: string;

  constructor(
    private readonly cluster: CtdbTestCluster,
    readonly pnn: number,
    readonly share: string,
  ) {
    const node = cluster.node(pnn);
    this.dir = join(node.dir, 'clustered-smbd');
    this.apiSocket = join(this.dir, 'mccd.sock');
    this.confPath = join(this.dir, 'smb.conf');
  }

  private enter(): string[] {
    const pid = this.cluster.node(this.pnn).pid;
    if (pid === undefined) throw new Error(`ctdbd on node ${this.pnn} is not running`);
    return ['-t', String(pid), '-m', '-n', '--'];
  }

  /** smb.conf (every node exports the same directory) and, on one node, root's password in the clustered passdb. */
  async prepare(setPassword: boolean): Promise<void> {
    for (const d of ['state/private', 'state/lock', 'state/cache', 'state/pid', 'state/ncalrpc', 'log'])
      mkdirSync(join(this.dir, d), { recursive: true });
    // As deploy/smb.conf.snippet tells operators: the line `mcc interfaces --smb-conf` prints (fixed
    // addresses only; mccd audits it against the public IPs at start).
    const { stdout } = await execFileAsync('nsenter', [
      ...this.enter(),
      process.execPath,
      ...mccInterfacesLineArgv('/run/ctdb/ctdbd.socket'),
    ]);
    const interfaces = stdout.trim();
    if (!/^interfaces = /.test(interfaces))
      throw new Error(`mcc interfaces --smb-conf on node ${this.pnn} printed ${JSON.stringify(interfaces)}`);
    const conf = smbdConf(this.dir, ['clustering = yes', interfaces, 'bind interfaces only = no']).replace(
      `path = ${this.dir}/share`,
      `path = ${this.share}`,
    );
    writeFileSync(this.confPath, conf);
    if (!setPassword) return;
    const p = execFileAsync('nsenter', [
      ...this.enter(),
      'smbpasswd',
      '-c',
      this.confPath,
      '-a',
      '-s',
      'root',
    ]);
    p.child.stdin?.end(`${CLUSTERED_PASSWORD}\n${CLUSTERED_PASSWORD}\n`);
    await p;
  }

  /** mccd with the smbd backend: `poolSize` members ready (0: spawn mode). Resolves once it serves. */
  async startMccd(poolSize: number): Promise<void> {
    writeFileSync(
      join(this.dir, 'mccd.json'),
      JSON.stringify({
        listen: [{ address: '0.0.0.0', port: 445 }],
        cluster: { backend: 'ctdbd', ctdbdSocket: '/run/ctdb/ctdbd.socket' },
        api: { socket: this.apiSocket },
        backend: {
          kind: 'smbd',
          config: this.confPath,
          logDir: join(this.dir, 'log'),
          pool: { size: poolSize },
        },
        log: { level: 'info' },
      }),
    );
    const log = openSync(join(this.dir, 'mccd.log'), 'a');
    const mccd = spawn(
      'nsenter',
      [
        ...this.enter(),
        process.execPath,
        join(projectRoot, 'dist/cli/mccd.js'),
        '-c',
        join(this.dir, 'mccd.json'),
      ],
      { stdio: ['ignore', log, log], detached: true },
    );
    closeSync(log);
    this.mccd = mccd;
    await this.waitServing();
  }

  /** Until mccd answers, is connected to ctdbd and its zygote (and every member) is ready. */
  async waitServing(timeoutMs = 30_000): Promise<void> {
    const mccd = this.mccd;
    await waitFor(`mccd with clustered smbd on node ${this.pnn}`, timeoutMs, async () => {
      if (!mccd || mccd.exitCode !== null)
        throw new Error(`mccd on node ${this.pnn} exited: ${this.log().slice(-800)}`);
      if (!existsSync(this.apiSocket)) return undefined;
      const s = await apiGet<{
        clusterConnected: boolean;
        backend: { pool?: { size: number; ready: number; zygote: number | null } };
      }>({ socketPath: this.apiSocket }, '/v1/status').catch(() => undefined);
      const pool = s?.backend.pool;
      return s?.clusterConnected && pool && pool.zygote !== null && pool.ready >= pool.size
        ? true
        : undefined;
    });
  }

  status<T>(): Promise<T> {
    return apiGet<T>({ socketPath: this.apiSocket }, '/v1/status');
  }

  log(): string {
    const path = join(this.dir, 'mccd.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** Stops mccd and every smbd it started (pool, zygote and spawned ones serving clients). */
  async stop(): Promise<void> {
    await killAndWait(this.mccd);
    this.mccd = undefined;
    await execFileAsync('pkill', ['-KILL', '-f', `smbd -i -s ${this.confPath}`]).catch(() => undefined);
  }
}
