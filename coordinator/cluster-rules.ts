/**
 * The cluster's rules applied to this node's clients: RELEASE_IP tears down every client with a channel
 * on the released address, losing ctdbd tears down every client on a public IP, and a client claimed by
 * another node is dropped here (one client, one node). The client machines decide what each event means;
 * this only routes the cluster's events to them.
 */
import type { ClusterEvent, ClusterView } from '../ctdb/cluster-view.js';
import type { PublicIpTracker } from '../ifdiscovery/index.js';
import type { ClientRegistry } from '../statecharts/registry.js';
import type { ReportFailure } from './failures.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Claim } from './node-link.js';

export interface ClusterRulesDeps {
  registry: ClientRegistry;
  cluster: ClusterView;
  publicIps: PublicIpTracker;
  metrics: Metrics;
  log: Logger;
  failed: ReportFailure;
  /** Every cluster event, for the operator event stream. */
  observed: (e: ClusterEvent) => void;
}

export class ClusterRules {
  constructor(private readonly deps: ClusterRulesDeps) {}

  onClusterEvent(e: ClusterEvent): void {
    const { registry, metrics, log } = this.deps;
    metrics.clusterEvents.inc({ type: e.type });
    this.deps.observed(e);
    switch (e.type) {
      case 'ip-released': {
        const affected = registry.releaseIp(e.ip, e.at);
        log.info(
          { ip: e.ip, clients: affected.length },
          `RELEASE_IP ${e.ip}: tearing down ${affected.length} client(s) with a channel on it`,
        );
        break;
      }
      case 'lost': {
        metrics.clusterConnected.set(0);
        const affected = registry.clusterLost(e.at);
        log.warn(
          { clients: affected.length },
          `lost ctdbd: every public IP of this node counts as released; tearing down ${affected.length} client(s)`,
        );
        break;
      }
      case 'restored':
        metrics.clusterConnected.set(1);
        log.info('ctdbd connection restored');
        break;
      default:
        break;
    }
  }

  /** An event from ctdbd's event script (99.mcc.script), a second path beside ctdbd's messages. */
  onScriptEvent(event: string, args: string[]): void {
    const { cluster, publicIps } = this.deps;
    if (event === 'releaseip' && args[1])
      this.onClusterEvent({ type: 'ip-released', ip: args[1], pnn: cluster.pnn, at: Date.now() });
    else if (event === 'ipreallocated' || event === 'takeip' || event === 'updateip')
      publicIps.refresh(`script:${event}`).catch(this.deps.failed('public IP refresh', { trigger: event }));
  }

  onClaim(m: Claim): void {
    const v = this.deps.registry.view(m.clientGuid);
    if (!v || v.state === 'tearingDown' || v.state === 'gone') return;
    this.deps.log.info(
      { client: m.clientGuid, node: m.pnn },
      `client ${m.clientGuid} connected to node ${m.pnn}: dropping it here`,
    );
    this.deps.registry.send(m.clientGuid, { type: 'DROP', toNode: m.pnn });
  }
}
