/**
 * Small pieces of a restart that need nothing of the Restorer's bookkeeping (restore.ts).
 */
import type { ClusterView } from '../ctdb/cluster-view.js';
import { destroySockets, type ListedSocket, type SocketTuple, socketTupleLabel } from '../native/index.js';
import type { ClientRegistry } from '../statecharts/registry.js';
import type { Backend } from './backends/backend.js';
import type { MccConfig } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** ctdbd forgets a client's TCP_CLIENT registrations when that client (the old mccd) disconnects. */
export function registerPublicChannels(registry: ClientRegistry, cluster: ClusterView, log: Logger): void {
  if (!cluster.registerConnection) return;
  for (const v of registry.views()) {
    if (v.state === 'tearingDown' || v.state === 'gone') continue;
    for (const ch of v.context.channels) {
      if (!ch.onPublicIp) continue;
      const t = ch.tuple;
      cluster
        .registerConnection(
          { address: t.localAddress, port: t.localPort },
          { address: t.remoteAddress, port: t.remotePort },
        )
        .catch((error: Error) =>
          log.warn(
            { client: v.clientGuid, err: error.message },
            'restart: could not register the connection with ctdbd (TCP_CLIENT)',
          ),
        );
    }
  }
}

/**
 * With a socket-activated front door, connections queued while mccd was down are accepted the moment it
 * listens; with no worker registered yet they would all be refused. So the front door waits (at most
 * `ms`) for the first worker, and the queue holds the clients meanwhile.
 */
export async function awaitAnyOwner(backend: Backend, ms: number): Promise<boolean> {
  if (backend.kind !== 'worker' || backend.chooseOwner('') !== undefined) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      backend.off('owner-back', onBack);
      resolve(ok);
    };
    const onBack = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    backend.on('owner-back', onBack);
  });
}

/**
 * After a restart: a restored client another node now has connected there while this mccd was down
 * (its claim, sent meanwhile, was lost). One client, one node: as a claim would have, it is dropped
 * here. Asked once, after the front door opened, so it never delays serving; nodes that do not answer
 * in time are not waited for.
 */
export async function dropClaimedElsewhere(
  restored: readonly string[],
  deps: {
    registry: ClientRegistry;
    pnn: number;
    queryAll: (timeoutMs: number) => Promise<{ nodes: Record<number, unknown> }>;
    log: Logger;
  },
  timeoutMs = 2000,
): Promise<number> {
  if (restored.length === 0) return 0;
  const { nodes } = await deps.queryAll(timeoutMs);
  const elsewhere = new Map<string, number>();
  for (const [node, rows] of Object.entries(nodes)) {
    if (Number(node) === deps.pnn || !Array.isArray(rows)) continue;
    for (const row of rows) {
      const guid = (row as { clientGuid?: unknown }).clientGuid;
      if (typeof guid === 'string') elsewhere.set(guid.toLowerCase(), Number(node));
    }
  }
  let dropped = 0;
  for (const guid of restored) {
    const node = elsewhere.get(guid.toLowerCase());
    const v = deps.registry.view(guid);
    if (node === undefined || !v || v.state === 'tearingDown' || v.state === 'gone') continue;
    dropped++;
    deps.log.info(
      { client: guid, node },
      `restart: client ${guid} is connected to node ${node} now (its claim came while mccd was down): dropping it here`,
    );
    deps.registry.send(guid, { type: 'DROP', toNode: node });
  }
  return dropped;
}

const isWildcard = (a: string) => a === '0.0.0.0' || a === '::';

/**
 * After reconcile: connections on mccd's addresses and ports that no client (kept, or being torn down)
 * explains — accepted after the last state write, or left by an owner — are closed (SOCK_DESTROY).
 */
export function closeUnknownConnections(
  live: Map<string, ListedSocket>,
  ports: Set<number>,
  deps: { registry: ClientRegistry; listen: MccConfig['listen']; metrics: Metrics; log: Logger },
): number {
  const label = socketTupleLabel;
  const known = new Set<string>();
  for (const v of deps.registry.views())
    for (const ch of [...v.context.channels, ...v.context.closedByTeardown]) known.add(label(ch.tuple));
  const ours = (s: ListedSocket) =>
    ports.has(s.localPort) &&
    deps.listen.some((l) => isWildcard(l.address) || l.address === s.localAddress || l.port === 0);
  const unknown: SocketTuple[] = [...live.values()].filter((s) => ours(s) && !known.has(label(s)));
  if (unknown.length === 0) return 0;
  const closed = destroySockets(unknown).filter((r) => r === 'destroyed').length;
  deps.metrics.leftoverChannelsClosed.inc(closed);
  deps.log.warn(
    { found: unknown.length, closed, tuples: unknown.slice(0, 20).map(label) },
    `restart: closed ${closed} of ${unknown.length} connection(s) on mccd's ports that no restored client explains (accepted after the last state write, or left by an owner): their clients reconnect`,
  );
  return closed;
}
