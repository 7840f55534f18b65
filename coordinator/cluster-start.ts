/**
 * Building the cluster view the config asks for, and connecting it. A cluster daemon that does not answer
 * at start does not stop mccd: it keeps serving (nothing public is announced until ctdbd answers) and keeps
 * trying in the background.
 */
import type { ClusterView } from '../ctdb/cluster-view.js';
import { CtdbdClusterView } from '../ctdb/ctdbd-view.js';
import { RedisClusterView } from '../ctdb/redis-sim.js';
import { SingleNodeView } from '../ctdb/single-node.js';
import { type ClusterMode, resolveClusterMode } from './cluster-mode.js';
import type { MccConfig } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export async function openClusterView(
  config: MccConfig['cluster'],
  log: Logger,
  injected?: ClusterView,
): Promise<{ cluster: ClusterView; mode: ClusterMode }> {
  if (injected) return { cluster: injected, mode: injectedMode(injected.kind) };
  const mode = await resolveClusterMode(config);
  switch (mode.kind) {
    case 'ctdbd':
      return {
        mode,
        cluster: new CtdbdClusterView({
          socketPath: mode.socket,
          log: (level, message, fields) => log[level](fields ?? {}, message),
        }),
      };
    case 'redis':
      return { mode, cluster: new RedisClusterView({ url: mode.url, cluster: 'mcc', pnn: config.pnn }) };
    default:
      return { mode, cluster: new SingleNodeView(config.pnn) };
  }
}

function injectedMode(kind: ClusterView['kind']): ClusterMode {
  if (kind === 'ctdbd') return { kind, socket: '(injected)' };
  if (kind === 'redis') return { kind, url: '(injected)' };
  return { kind: 'single-node', reason: 'injected' };
}

/** Starts the view; if it cannot connect now, retries with backoff and calls `onReachable` once it does. */
export async function connectCluster(
  cluster: ClusterView,
  deps: { metrics: Metrics; log: Logger; onReachable: () => void },
): Promise<void> {
  try {
    await cluster.start();
    deps.metrics.clusterConnected.set(1);
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'cluster daemon not reachable at start; retrying');
    deps.metrics.clusterConnected.set(0);
    retry(cluster, deps, 0);
  }
}

function retry(
  cluster: ClusterView,
  deps: { metrics: Metrics; log: Logger; onReachable: () => void },
  attempt: number,
): void {
  setTimeout(
    () => {
      cluster.start().then(
        () => {
          deps.metrics.clusterConnected.set(1);
          deps.log.info({ pnn: cluster.pnn }, 'cluster daemon reachable');
          deps.onReachable();
        },
        () => retry(cluster, deps, attempt + 1),
      );
    },
    Math.min(5000, 200 * 2 ** attempt),
  ).unref();
}
