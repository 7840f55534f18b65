import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { lineSplitter } from '../harness/netns.js';
import type { AgentConfig, AgentLine } from './agent.js';
import { startContainerPlatform } from './container-platform.js';
import { Observer } from './observer.js';
import { type RigCluster, type RigMccd, type RigPlatform, startNetnsPlatform } from './platform.js';
import type { Profile } from './scenario.js';
import type { SimClientSpec } from './sim-client.js';
import type { SmbclientSpec } from './smbclient-session.js';

/**
 * Everything a failover run stands on: a real ctdbd cluster (containers or namespaces, platform.ts),
 * mccd and its backend on every node, and the agent (simulated clients + smbclient sessions) on the
 * clients' side.
 */
export class FailoverRig {
  readonly lines: AgentLine[] = [];
  readonly clients: SimClientSpec[] = [];
  readonly smbclients: SmbclientSpec[] = [];
  observer!: Observer;
  private agent: ChildProcess | undefined;

  private constructor(
    readonly profile: Profile,
    readonly platform: RigPlatform,
  ) {}

  get cluster(): RigCluster {
    return this.platform.cluster;
  }

  get mccds(): RigMccd[] {
    return this.platform.mccds;
  }

  static async start(profile: Profile, progress: (line: string) => void): Promise<FailoverRig> {
    const platform =
      profile.cluster === 'containers'
        ? await startContainerPlatform(profile, progress)
        : await startNetnsPlatform(profile, progress);
    const rig = new FailoverRig(profile, platform);
    try {
      rig.observer = new Observer(
        platform.mccds.map((m) => ({ pnn: m.pnn, apiSocket: m.apiSocket, pid: () => m.mccdPid() })),
        platform.cluster.publicIps,
      );
      rig.observer.start();
      rig.startAgent(progress);
      return rig;
    } catch (error) {
      await rig.stop();
      throw error;
    }
  }

  mccd(pnn: number): RigMccd {
    const m = this.mccds[pnn];
    if (!m) throw new Error(`no mccd on node ${pnn}`);
    return m;
  }

  /** Simulated clients spread round-robin over the public IPs; one smbclient session per public IP. */
  private startAgent(progress: (line: string) => void): void {
    const ips = this.cluster.publicIps;
    const smbd = this.profile.backend === 'smbd';
    const password = this.platform.smbPassword;
    for (let i = 0; i < this.profile.clients; i++)
      this.clients.push({ id: `c${i}`, guid: randomUUID(), publicIp: ips[i % ips.length]! });
    for (let i = 0; smbd && i < this.profile.smbclientSessions; i++)
      this.smbclients.push({
        id: `s${i}`,
        publicIp: ips[i % ips.length]!,
        share: 'share',
        user: 'root',
        password,
      });
    const config: AgentConfig = {
      port: 445,
      clients: this.clients,
      smbclients: this.smbclients,
      interfaceSource: smbd
        ? { kind: 'api', sockets: this.mccds.map((m) => m.apiSocket) }
        : { kind: 'fsctl' },
      timing: { echoIntervalMs: 250, echoTimeoutMs: 2500, teardownGraceMs: 3000, connectTimeoutMs: 3000 },
      smbclientTickMs: 500,
      ...(smbd
        ? {
            probe: {
              publicIps: [...ips],
              port: 445,
              share: 'share',
              user: 'root',
              password,
              tickMs: 1000,
              timeoutMs: 10_000,
            },
          }
        : {}),
    };
    const path = this.platform.writeAgentConfig(JSON.stringify(config));
    progress(
      `clients: ${this.clients.length} simulated multi-channel clients, ${this.smbclients.length} smbclient sessions`,
    );
    const agent = this.platform.spawnAgent(path);
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

  /** How many channels each simulated client holds now, by its last bound/torn-down line. */
  clientChannelCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const l of this.lines) {
      if (l.kind !== 'client') continue;
      if (l.event === 'bound') out.set(l.id, l.channels.length);
      else if (l.event === 'torn-down') out.set(l.id, 0);
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
    this.platform.keepLogs(dir);
  }

  async stop(): Promise<void> {
    await this.platform.stopAgent(this.agent);
    await this.observer?.stop();
    await this.platform.stop();
  }
}
