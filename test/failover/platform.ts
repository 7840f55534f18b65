import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAndWait, NodeMccd, Probe } from '../harness/cluster-mccd.js';
import { CtdbTestCluster } from '../harness/ctdb-cluster.js';
import type { CtdbNodeRef, CtdbQueries } from '../harness/ctdb-queries.js';
import { projectRoot } from '../helpers/reference.js';
import { describePools, type Profile, poolOf } from './scenario.js';

/**
 * What a failover run stands on, whichever way the nodes are made: containers (container-platform.ts,
 * the production replica: clustered smbd) or network namespaces (here: fast, smbd without clustering,
 * and the only place for the reference worker). The rig, the actions and the observer see only this.
 */
export interface RigCluster extends CtdbQueries<CtdbNodeRef> {
  readonly baseDir: string;
  kill9(pnn: number): Promise<void>;
  stopNode(pnn: number): Promise<void>;
  restart(pnn: number): void | Promise<void>;
  setLink(pnn: number, up: boolean): void | Promise<void>;
  stop(): Promise<void>;
}

export interface RigMccd {
  readonly pnn: number;
  readonly apiSocket: string;
  readonly backend: 'worker' | 'smbd';
  mccdPid(): number | undefined;
  /** When the running mccd was started (exec'd by its restart loop), ms since the epoch. */
  startedAt(): number | undefined;
  kill9Mccd(): Promise<void>;
  startProcesses(): Promise<void>;
  restart(): Promise<void>;
  waitPoolReady(timeoutMs?: number): Promise<void>;
  /** smbd processes holding client connections: pid (as killSmbd takes it) → peers. */
  smbdServing(): Promise<Map<number, string[]>>;
  killSmbd(pid: number): Promise<void>;
  kill9Worker?(): Promise<void>;
  startWorker?(): Promise<void>;
  stop(): Promise<void>;
}

/** A file held open by a real smbclient session. */
export interface HeldFile {
  close(): Promise<void>;
  /** Ends the session (quit), whatever state it is in. */
  end(): void;
}

/** A real smbclient `notify DIR`, printing the changes smbd reports. */
export interface DirectoryWatch {
  text(): string;
  stop(): Promise<void>;
}

/**
 * The share every node serves, as clients and operators reach it: smbclient runs in the client container,
 * shell commands (smbstatus) on a node. Only the production replica has it: cross-node share modes and
 * notify need clustered smbd.
 */
export interface RigShare {
  /** One smbclient batch (`-c`); `ok` when it exited 0 and printed no NT_STATUS_. */
  batch(server: string, commands: string): Promise<{ ok: boolean; output: string }>;
  /** A file the client side can `put` (its path there). */
  readonly localFile: string;
  holdOpen(server: string, name: string): Promise<HeldFile>;
  watch(server: string, dir: string): DirectoryWatch;
  /** A program in the client container (its stdout streams back); `stopOnClient` ends it by pattern. */
  runOnClient(argv: string[]): ChildProcess;
  stopOnClient(pattern: string): Promise<void>;
  /** The share's path on the nodes (as smbstatus prints it). */
  readonly path: string;
  onNode(pnn: number, command: string): Promise<string>;
}

export interface RigPlatform {
  readonly cluster: RigCluster;
  readonly mccds: RigMccd[];
  /** root's SMB password on every node. */
  readonly smbPassword: string;
  /** What the report says the run stood on: engine, image, smbd configuration. */
  readonly description: string;
  /** smbd's smb.conf on node 0, for the report (the production replica's). */
  readonly smbConf?: string;
  /** The clustered share seen from the clients' side, for the cross-node steps (the production replica only). */
  readonly share?: RigShare;
  /** Writes the agent's configuration where the agent can read it; returns the path the agent is given. */
  writeAgentConfig(json: string): string;
  spawnAgent(configPath: string): ChildProcess;
  stopAgent(agent: ChildProcess | undefined): Promise<void>;
  /** One smbclient `ls` of the share through `server`, from the clients' side. */
  smbclientLs(server: string): Promise<{ ok: boolean; output: string }>;
  /** `mcc probe` from the clients' side: one client connecting to `to` (restart-mccd's client arriving mid-restart). */
  startProbe(guid: string, to: string[]): Probe;
  keepLogs(dir: string): void;
  stop(): Promise<void>;
}

function copyDirFiles(from: string, to: string, prefix: string): void {
  if (!existsSync(from)) return;
  for (const f of readdirSync(from)) {
    const path = join(from, f);
    if (statSync(path).isFile()) copyFileSync(path, join(to, `${prefix}${f}`));
  }
}

/**
 * Copies each node's logs into `dir` as node<pnn>-<name>: the named files (path → name) and every file
 * of its smbd log directory (node<pnn>-smbd-<file>).
 */
export function keepNodeLogs(
  dir: string,
  nodes: readonly { pnn: number }[],
  filesOf: (pnn: number) => Record<string, string>,
  smbdLogDirOf: (pnn: number) => string,
): void {
  mkdirSync(dir, { recursive: true });
  for (const { pnn } of nodes) {
    for (const [path, name] of Object.entries(filesOf(pnn)))
      if (existsSync(path)) copyFileSync(path, join(dir, `node${pnn}-${name}`));
    copyDirFiles(smbdLogDirOf(pnn), dir, `node${pnn}-smbd-`);
  }
}

/** The namespace platform: one netns per node, smbd without clustering (see docs/failover.md for why it stays). */
export async function startNetnsPlatform(
  profile: Profile,
  progress: (line: string) => void,
): Promise<RigPlatform> {
  progress(`starting a ${profile.nodes}-node ctdbd cluster in network namespaces`);
  const cluster = await CtdbTestCluster.start({
    nodes: profile.nodes,
    clients: 1,
    eventScripts: [join(projectRoot, 'deploy/ctdb/09.mcc.script')],
    env: (node) => ({ MCC_SOCKET: join(node.dir, 'mccd.sock') }),
    // A partitioned node is declared dead after ~3 s instead of ctdb's default 25 s.
    tunables: { KeepaliveInterval: 1, KeepaliveLimit: 3 },
  });
  const mccds: NodeMccd[] = [];
  const stop = async () => {
    for (const m of mccds) await m.stop();
    await cluster.stop();
  };
  try {
    for (const node of cluster.nodes) {
      progress(`node ${node.pnn}: starting mccd with the ${profile.backend} backend`);
      mccds.push(
        await NodeMccd.start(cluster, node.pnn, {
          backend: profile.backend,
          smbdPool: poolOf(profile, node.pnn),
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const ns = cluster.clientNamespaces[0]!.ns;
  return {
    cluster,
    mccds,
    smbPassword: mccds[0]!.smbdPassword,
    description: `${profile.nodes} ctdbd nodes in network namespaces (host ctdbd and smbd, \`clustering = no\`), ${profile.backend === 'smbd' ? describePools(profile) : 'reference worker'}`,
    writeAgentConfig(json) {
      const path = join(cluster.baseDir, 'agent.json');
      writeFileSync(path, json);
      return path;
    },
    spawnAgent(configPath) {
      return spawn(
        'ip',
        ['netns', 'exec', ns, process.execPath, join(projectRoot, 'dist/test/failover/agent.js'), configPath],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    },
    stopAgent: (agent) => killAndWait(agent),
    startProbe: (guid, to) => Probe.start(ns, guid, to),
    smbclientLs(server) {
      return new Promise((resolve) => {
        execFile(
          'ip',
          [
            'netns',
            'exec',
            ns,
            'smbclient',
            `//${server}/share`,
            '-U',
            `root%${mccds[0]!.smbdPassword}`,
            '-m',
            'SMB3_11',
            '-c',
            'ls',
          ],
          { timeout: 30_000 },
          (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}` }),
        );
      });
    },
    keepLogs(dir) {
      keepNodeLogs(
        dir,
        cluster.nodes,
        (pnn) => ({
          [join(cluster.node(pnn).dir, 'mccd.log')]: 'mccd.log',
          [join(cluster.node(pnn).dir, 'ctdbd.stdout')]: 'ctdbd.log',
        }),
        (pnn) => join(cluster.node(pnn).dir, 'smbd', 'log'),
      );
    },
    stop,
  };
}
