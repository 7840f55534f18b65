import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTERED_PASSWORD, ClusteredSmbdNode } from '../../harness/clustered-smbd.js';
import { CtdbTestCluster, ctdbAvailable } from '../../harness/ctdb-cluster.js';
import { waitFor } from '../../harness/netns.js';
import { captureOutput } from '../../harness/output.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

const execFileAsync = promisify(execFile);

/**
 * smbd with `clustering = yes` (what deploy/smb.conf.snippet tells operators) behind mccd on two nodes of
 * a real ctdbd cluster, in pool and in spawn mode. Both regressions here were measured before the fix:
 * after a ctdbd restart the first pool-size connections failed (NT_STATUS_CONNECTION_RESET: members kept
 * from before held a dead ctdbd connection), and in spawn mode a change made through one node never
 * reached a watcher on the other (each spawned smbd was a notify daemon of its own).
 */
describePeer(
  'clustered smbd (clustering = yes) behind mccd on a real 2-node ctdbd cluster',
  firstReason(
    notRoot(),
    missingPrograms('ip', 'nsenter', 'ctdb', 'ethtool', 'smbd', 'smbclient', 'smbpasswd', 'stdbuf'),
    ctdbAvailable(),
  ),
  () => {
    let cluster: CtdbTestCluster;
    let nodes: ClusteredSmbdNode[] = [];
    const watchers: ChildProcess[] = [];
    const client = () => cluster.clientNamespaces[0]!.ns;
    const smbclient = (pnn: number) => [
      'netns',
      'exec',
      client(),
      'smbclient',
      '-U',
      `root%${CLUSTERED_PASSWORD}`,
      '-m',
      'SMB3',
      `//${cluster.node(pnn).address}/share`,
    ];

    beforeAll(async () => {
      cluster = await CtdbTestCluster.start({ nodes: 2, clients: 1 });
      const share = join(cluster.baseDir, 'share');
      mkdirSync(share, { recursive: true });
      nodes = [0, 1].map((pnn) => new ClusteredSmbdNode(cluster, pnn, share));
      for (const n of nodes) await n.prepare(n.pnn === 0);
    }, 180_000);

    afterAll(async () => {
      for (const w of watchers) w.kill('SIGKILL');
      for (const n of nodes) await n.stop();
      await cluster?.stop();
    }, 60_000);

    async function ls(pnn: number): Promise<string | undefined> {
      try {
        await execFileAsync('ip', [...smbclient(pnn), '-c', 'ls'], { timeout: 30_000 });
        return undefined;
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        return `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || err.message;
      }
    }

    /** A watcher on node `watchOn`, a file put through node `putOn`: the watcher must be told. */
    async function notifyAcross(watchOn: number, putOn: number): Promise<void> {
      const watcher = spawn(
        'ip',
        [
          ...smbclient(watchOn).slice(0, 3),
          'stdbuf',
          '-oL',
          ...smbclient(watchOn).slice(3),
          '-c',
          'notify \\',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      watchers.push(watcher);
      const out = captureOutput(watcher);
      try {
        // Tree connect plus the NOTIFY request itself; smbclient prints nothing until a change comes.
        await new Promise((r) => setTimeout(r, 2000));
        const name = `across-${randomUUID().slice(0, 8)}.txt`;
        const local = join(cluster.baseDir, name);
        writeFileSync(local, 'x');
        await execFileAsync('ip', [...smbclient(putOn), '-c', `put ${local} ${name}`], { timeout: 30_000 });
        await waitFor(
          `node ${watchOn}'s watcher told of ${name}`,
          10_000,
          () => (out().includes(name) ? true : undefined),
          50,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}; the watcher printed: ${JSON.stringify(out())}`);
      } finally {
        watcher.kill('SIGKILL');
      }
    }

    for (const poolSize of [2, 0]) {
      const mode = poolSize > 0 ? `pool of ${poolSize}` : 'spawn mode';
      describe(mode, () => {
        beforeAll(async () => {
          for (const n of nodes) await n.stop();
          for (const n of nodes) await n.startMccd(poolSize);
        }, 90_000);

        it("mccd audits smbd's interfaces line: no entry can announce a public IP", async () => {
          for (const n of nodes) {
            const s = await n.status<{
              backend: { interfacesAudit?: { line: string; problems: unknown[] } };
            }>();
            expect(s.backend.interfacesAudit?.line, `node ${n.pnn}`).toMatch(/^\d/);
            expect(s.backend.interfacesAudit?.problems, `node ${n.pnn}`).toEqual([]);
          }
        });

        it('change notify crosses nodes: a change made through node 1 reaches a watcher on node 0', async () => {
          await notifyAcross(0, 1);
        }, 60_000);

        it('after ctdbd restarts on a node, no connection through it fails', async () => {
          await cluster.kill9(0);
          cluster.restart(0);
          await cluster.waitHealthy(90_000);
          await waitFor('mccd on node 0 reconnected to ctdbd', 30_000, async () =>
            (await nodes[0]!.status<{ clusterConnected: boolean }>()).clusterConnected ? true : undefined,
          );
          // More connections than the pool holds: every member that was ready before the restart is used up.
          const failures: string[] = [];
          for (let i = 0; i < poolSize + 3; i++) {
            const failed = await ls(0);
            if (failed) failures.push(`connection ${i}: ${failed.slice(-200)}`);
          }
          expect(failures, nodes[0]!.log().slice(-2000)).toEqual([]);
          await nodes[0]!.waitServing();
          await notifyAcross(0, 1);
        }, 180_000);
      });
    }
  },
);
