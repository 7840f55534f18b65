import { connect } from 'node:net';
import type { MccConfig } from './config.js';

export type ClusterMode =
  | { kind: 'ctdbd'; socket: string }
  | { kind: 'redis'; url: string }
  | { kind: 'single-node'; reason: string };

/** Whether something accepts connections on a unix socket path within `timeoutMs`. */
export function unixSocketAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Decides where the cluster view comes from; `auto` prefers ctdbd and says plainly when it is absent. */
export async function resolveClusterMode(cluster: MccConfig['cluster']): Promise<ClusterMode> {
  switch (cluster.backend) {
    case 'ctdbd':
      return { kind: 'ctdbd', socket: cluster.ctdbdSocket };
    case 'redis':
      // The config schema refuses redis without a URL; a config built some other way fails loudly here.
      if (!cluster.redisUrl) throw new Error('cluster.backend is redis but cluster.redisUrl is not set');
      return { kind: 'redis', url: cluster.redisUrl };
    case 'single-node':
      return { kind: 'single-node', reason: 'configured (cluster.backend: single-node)' };
    case 'auto':
      if (await unixSocketAnswers(cluster.ctdbdSocket)) return { kind: 'ctdbd', socket: cluster.ctdbdSocket };
      return { kind: 'single-node', reason: `no ctdbd answers at ${cluster.ctdbdSocket}` };
  }
}
