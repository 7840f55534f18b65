import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Probe } from '../harness/cluster-mccd.js';
import { CLIENT_DIR, ContainerCluster } from '../harness/container-cluster.js';
import { nodeImage, podman, podmanEnv } from '../harness/container-engine.js';
import { ContainerMccd, prepareClusteredSmbd, SHARE_PATH, SMB_PASSWORD } from '../harness/container-mccd.js';
import {
  InteractiveSmbclient,
  NotifyWatch,
  prepareClient,
  smbclientBatch,
} from '../harness/container-smbclient.js';
import { waitFor } from '../harness/netns.js';
import { projectRoot } from '../helpers/reference.js';
import { keepNodeLogs, type RigPlatform, type RigShare } from './platform.js';
import { describePools, type Profile, poolOf } from './scenario.js';

/**
 * The production replica under the failover harness: every node a container running ctdbd, smbd with
 * `clustering = yes` and mccd; the agent (simulated clients, smbclient sessions, the smbtorture probe)
 * in a client container on the same network. The client container also mounts the cluster's host
 * directory at its host path, so the simulated clients can ask each node's mccd API for its interfaces
 * (the harness's stand-in for an authenticated FSCTL, as with namespaces).
 */
export async function startContainerPlatform(
  profile: Profile,
  progress: (line: string) => void,
): Promise<RigPlatform> {
  if (profile.backend !== 'smbd')
    throw new Error(
      'the container cluster runs clustered smbd only: use --cluster netns for the reference worker',
    );
  progress(`starting a ${profile.nodes}-node ctdbd cluster in containers (${nodeImage()})`);
  const cluster = await ContainerCluster.start({
    nodes: profile.nodes,
    clients: 1,
    eventScripts: [join(projectRoot, 'deploy/ctdb/09.mcc.script')],
    tunables: { KeepaliveInterval: 1, KeepaliveLimit: 3 },
    clientMounts: (baseDir) => [{ source: baseDir, target: baseDir, mode: 'rw' }],
  });
  const client = cluster.clients[0]!;
  const mccds: ContainerMccd[] = [];
  const stop = async () => {
    for (const m of mccds) await m.stop().catch(() => undefined);
    await cluster.stop();
  };
  try {
    progress('clustered smbd: smb.conf on every node, root in the clustered passdb');
    await prepareClusteredSmbd(cluster);
    await prepareClient(cluster, client);
    for (const node of cluster.nodes) {
      progress(
        `node ${node.pnn}: starting mccd (${describePools({ nodes: 1, smbdPool: poolOf(profile, node.pnn) })})`,
      );
      mccds.push(await ContainerMccd.start(cluster, node.pnn, { pool: poolOf(profile, node.pnn) }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const share: RigShare = {
    async batch(server, commands) {
      const r = await smbclientBatch(cluster, client, server, commands);
      return { ok: r.code === 0 && !/NT_STATUS_/.test(r.output), output: r.output };
    },
    localFile: `${CLIENT_DIR}/put.txt`,
    async holdOpen(server, name) {
      const session = await InteractiveSmbclient.open(client, server);
      try {
        const fnum = await session.openFile(name);
        return { close: () => session.closeFile(fnum), end: () => session.close() };
      } catch (error) {
        session.close();
        throw error;
      }
    },
    watch: (server, dir) => NotifyWatch.start(cluster, client, server, dir),
    runOnClient: (argv) =>
      spawn('podman', ['exec', client.name, ...argv], {
        env: podmanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    // podman exec forwards no signal: the program is ended inside, and the exec ends with it.
    stopOnClient: (pattern) =>
      cluster.exec(client, ['pkill', '-KILL', '-f', pattern]).then(
        () => undefined,
        () => undefined,
      ),
    path: SHARE_PATH,
    onNode: (pnn, command) => cluster.sh(pnn, command),
  };
  writeFileSync(join(client.dir, 'put.txt'), 'written by the failover harness\n');
  const version = podman(['version', '--format', '{{.Client.Version}}']).trim();
  return {
    cluster,
    mccds,
    smbPassword: SMB_PASSWORD,
    description: `${profile.nodes} ctdbd nodes as containers (podman ${version} through testcontainers, image ${nodeImage()} from Debian 12's archive: ctdb and samba 4.17), smbd with \`clustering = yes\` behind mccd: ${describePools(profile)}`,
    smbConf: readFileSync(join(cluster.node(0).dir, 'etc-samba', 'smb.conf'), 'utf8'),
    writeAgentConfig(json) {
      writeFileSync(join(client.dir, 'agent.json'), json);
      return `${CLIENT_DIR}/agent.json`;
    },
    spawnAgent(configPath) {
      // podman exec (the Docker API's exec does not stream); the agent's JSON lines come out on stdout.
      return spawn(
        'podman',
        [
          'exec',
          client.name,
          '/usr/local/bin/node',
          join(projectRoot, 'dist/test/failover/agent.js'),
          configPath,
        ],
        { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
    },
    async stopAgent(agent) {
      if (!agent || agent.exitCode !== null) return;
      // podman exec forwards no signal: SIGTERM the agent inside, and the exec ends with it.
      await cluster.exec(client, ['pkill', '-TERM', '-f', 'failover/agent.js']).catch(() => undefined);
      await waitFor(
        'the failover agent to exit',
        10_000,
        () => (agent.exitCode !== null ? true : undefined),
        50,
      ).catch(() => agent.kill('SIGKILL'));
    },
    startProbe(guid, to) {
      const child = spawn('podman', ['exec', client.name, '/usr/local/bin/node', ...Probe.argv(guid, to)], {
        env: podmanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return Probe.attach(child, async () => {
        if (child.exitCode !== null) return;
        // podman exec forwards no signal: end the probe inside (by its GUID), and the exec ends with it.
        await cluster.exec(client, ['pkill', '-TERM', '-f', `probe --guid ${guid}`]).catch(() => undefined);
        await waitFor(
          'mcc probe to exit',
          10_000,
          () => (child.exitCode !== null ? true : undefined),
          50,
        ).catch(() => child.kill('SIGKILL'));
      });
    },
    smbclientLs: (server) => share.batch(server, 'ls'),
    share,
    keepLogs(dir) {
      const logDir = (pnn: number) => join(cluster.node(pnn).dir, 'log');
      keepNodeLogs(
        dir,
        cluster.nodes,
        (pnn) => ({
          [join(logDir(pnn), 'mccd.log')]: 'mccd.log',
          [join(logDir(pnn), 'ctdbd.stdout')]: 'ctdbd.log',
          [join(logDir(pnn), 'log.ctdbd')]: 'log.ctdbd',
        }),
        (pnn) => join(logDir(pnn), 'smbd'),
      );
    },
    stop,
  };
}
