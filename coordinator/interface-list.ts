/**
 * The interface list as mccd runs it: InterfaceDiscovery over this node's public IPs, with every update
 * that followed a cluster event logged with how long it took (the window a client could be told a stale
 * list).
 */
import { InterfaceDiscovery, type PublicIpTracker } from '../ifdiscovery/index.js';
import type { MccConfig } from './config.js';
import type { Logger } from './log.js';

export function openInterfaceList(
  interfaces: MccConfig['interfaces'],
  publicIps: PublicIpTracker,
  log: Logger,
): InterfaceDiscovery {
  const discovery = new InterfaceDiscovery(interfaces, publicIps);
  discovery.on('updated', (u) => {
    if (u.latencyMs !== undefined)
      log.debug(
        { trigger: u.trigger, latencyMs: u.latencyMs, announced: u.state.announced.length },
        'interface list updated',
      );
  });
  discovery.on('refresh-failed', (f) =>
    log.warn(
      { trigger: f.trigger, err: f.error.message },
      `interface list not refreshed (${f.error.message}); the last one stays`,
    ),
  );
  return discovery;
}
