/**
 * Small pieces of a restart that need nothing of the Restorer's bookkeeping (restore.ts).
 */
import type { ClusterView } from '../ctdb/cluster-view.js';
import type { ClientRegistry } from '../statecharts/registry.js';
import type { Backend } from './backends/backend.js';
import type { Logger } from './log.js';

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
