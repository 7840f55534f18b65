import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAndWait, NodeMccd } from '../harness/cluster-mccd.js';
import { CtdbTestCluster } from '../harness/ctdb-cluster.js';
import { lineSplitter } from '../harness/netns.js';
import { projectRoot } from '../helpers/reference.js';
import type { AgentConfig, AgentLine } from './agent.js';
import { Observer } from './observer.js';
import type { Profile } from './scenario.js';
import type { SimClientSpec } from './sim-client.js';
import type { SmbclientSpec } from './smbclient-session.js';

/**
 * Everything a failover run stands on: a real ctdbd cluster in namespaces, mccd and its backend on every
 * node, and a client namespace running the agent (simulated clients + smbclient sessions).
 */
export class FailoverRig {
  readonly lines: AgentLine[] = [];
  readonly clients: SimClientSpec[] = [];
  readonly smbclients: SmbclientSpec[] = [];
  observer!: Observer;
  private agent: ChildProcess | undefined;

  private constructor(
    readonly profile: Profile,
    readonly cluster: CtdbTestCluster,
    readonly mccds: NodeMccd[],
  ) {}

  static async start(profile: Profile, progress: (line: string) => void): Promise<FailoverRig> {
    progress(`starting a ${profile.nodes}-node ctdbd cluster in network namespaces`);
    const cluster = await CtdbTestCluster.start({
      nodes: profile.nodes,
      clients: 1,
      eventScripts: [join(projectRoot, 'deploy/ctdb/99.mcc.script')],
      env: (node) => ({ MCC_SOCKET: join(node.dir, 'mccd.sock') }),
      // A partitioned node is declared dead after ~3 s instead of ctdb's default 25 s.
      tunables: { KeepaliveInterval: 1, KeepaliveLimit: 3 },
    });
    const mccds: NodeMccd[] = [];
    const rig = new FailoverRig(profile, cluster, mccds);
    try {
      for (const node of cluster.nodes) {
        progress(`node ${node.pnn}: starting mccd with the ${profile.backend} backend`);
        mccds.push(await NodeMccd.start(cluster, node.pnn, { backend: profile.backend, smbdPool: 4 }));
      }
      rig.observer = new Observer(
        mccds.map((m) => ({ pnn: m.pnn, apiSocket: m.apiSocket, pid: () => m.mccdPid() })),
        cluster.publicIps,
      );
      rig.observer.start();
      await rig.startAgent(progress);
      return rig;
    } catch (error) {
      await rig.stop();
      throw error;
    }
  }

  mccd(pnn: number): NodeMccd {
    const m = this.mccds[pnn];
    if (!m) throw new Error(`no mccd on node ${pnn}`);
    return m;
  }

  /** Simulated clients spread round-robin over the public IPs; one smbclient session per public IP. */
  private async startAgent(progress: (line: string) => void): Promise<void> {
    const ips = this.cluster.publicIps;
    for (let i = 0; i < this.profile.clients; i++)
      this.clients.push({ id: `c${i}`, guid: randomUUID(), publicIp: ips[i % ips.length]! });
    for (let i = 0; i < this.profile.smbclientSessions; i++) {
      this.smbclients.push({
        id: `s${i}`,
        publicIp: ips[i % ips.length]!,
        share: 'share',
        user: 'root',
        password: this.mccds[0]!.smbdPassword,
      });
    }
    const config: AgentConfig = {
      port: 445,
      clients: this.clients,
      smbclients: this.profile.backend === 'smbd' ? this.smbclients : [],
      interfaceSource:
        this.profile.backend === 'worker'
          ? { kind: 'fsctl' }
          : { kind: 'api', sockets: this.mccds.map((m) => m.apiSocket) },
      timing: { echoIntervalMs: 250, echoTimeoutMs: 2500, teardownGraceMs: 3000, connectTimeoutMs: 3000 },
      smbclientTickMs: 500,
      ...(this.profile.backend === 'smbd'
        ? {
            probe: {
              publicIps: [...ips],
              port: 445,
              share: 'share',
              user: 'root',
              password: this.mccds[0]!.smbdPassword,
              tickMs: 1000,
              timeoutMs: 10_000,
            },
          }
        : {}),
    };
    if (this.profile.backend !== 'smbd') this.smbclients.length = 0;
    const path = join(this.cluster.baseDir, 'agent.json');
    writeFileSync(path, JSON.stringify(config));
    const ns = this.cluster.clientNamespaces[0]!.ns;
    progress(
      `client namespace: ${this.clients.length} simulated multi-channel clients, ${this.smbclients.length} smbclient sessions`,
    );
    const agent = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, join(projectRoot, 'dist/test/failover/agent.js'), path],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.agent = agent;
    agent.stdout?.on(
      'data',
      lineSplitter((line) => {
        if (line) this.lines.push(JSON.parse(line) as AgentLine);
      }),
    );
    let stderr = '';
    agent.stderr?.on('data', (d) => {
      stderr += d;
    });
    agent.once('exit', (code) => {
      if (code) process.stderr.write(`failover agent exited ${code}: ${stderr.slice(-500)}\n`);
    });
  }

  /** Where each simulated client is now: its last bound/torn-down line. */
  clientStates(): Map<string, 'bound' | 'down'> {
    const out = new Map<string, 'bound' | 'down'>();
    for (const c of this.clients) out.set(c.id, 'down');
    for (const l of this.lines) {
      if (l.kind !== 'client') continue;
      if (l.event === 'bound') out.set(l.id, 'bound');
      else if (l.event === 'torn-down') out.set(l.id, 'down');
    }
    return out;
  }

  smbclientsUp(): number {
    const up = new Map<string, boolean>();
    for (const l of this.lines) {
      if (l.kind !== 'smbclient') continue;
      up.set(l.id, l.event === 'session-up');
    }
    return [...up.values()].filter(Boolean).length;
  }

  /** Copies each node's mccd, ctdbd and smbd logs (they go with the cluster's directory at stop()). */
  keepLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const node of this.cluster.nodes) {
      for (const [from, to] of [
        ['mccd.log', `node${node.pnn}-mccd.log`],
        ['ctdbd.stdout', `node${node.pnn}-ctdbd.log`],
      ] as const) {
        const path = join(node.dir, from);
        if (existsSync(path)) copyFileSync(path, join(dir, to));
      }
      const smbdLogs = join(node.dir, 'smbd', 'log');
      if (!existsSync(smbdLogs)) continue;
      for (const f of readdirSync(smbdLogs)) {
        const path = join(smbdLogs, f);
        if (statSync(path).isFile()) copyFileSync(path, join(dir, `node${node.pnn}-smbd-${f}`));
      }
    }
  }

  async stop(): Promise<void> {
    await killAndWait(this.agent);
    await this.observer?.stop();
    for (const m of this.mccds) await m.stop();
    await this.cluster.stop();
  }
}
