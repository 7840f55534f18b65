/**
 * The cluster's rules applied to this node's clients: RELEASE_IP tears down every client with a channel
 * on the released address, losing ctdbd tears down every client on a public IP, and a client claimed by
 * another node is dropped here (one client, one node). The client machines decide what each event means;
 * this only routes the cluster's events to them.
 */
import type { ClusterEvent, ClusterView } from '../ctdb/cluster-view.js';
import type { PublicIpTracker } from '../ifdiscovery/index.js';
import type { ClientRegistry } from '../statecharts/registry.js';
import type { ChannelRecord } from '../statecharts/types.js';
import { canonicalIp } from '../wire/ip.js';
import type { DestroyOutcome } from './backends/destroy.js';
import type { ReportFailure } from './failures.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Claim } from './node-link.js';
import type { ReleasingIps } from './releasing-ips.js';

export interface ClusterRulesDeps {
  registry: ClientRegistry;
  cluster: ClusterView;
  publicIps: PublicIpTracker;
  metrics: Metrics;
  log: Logger;
  failed: ReportFailure;
  /** Every cluster event, for the operator event stream. */
  observed: (e: ClusterEvent) => void;
  /**
   * Resets channels by 4-tuple, all in one batch (SOCK_DESTROY; root only). undefined when it cannot;
   * the owners' own closes then do the work, as they do in any case afterwards.
   */
  resetChannels: (channels: ChannelRecord[]) => DestroyOutcome | undefined;
  /** The public IPs being released here: refused from the release until this node takes them again. */
  releasing: ReleasingIps;
  /** Closes the connections to `ip` still waiting for their NEGOTIATE; how many. */
  closePendingTo: (ip: string) => number;
}

/** When a channel lost on a public IP is checked against ctdbd's view of who holds the IP now. */
const RELEASE_CHECK_MS = 2000;
/** Clients waiting for that check at most (anyone can open and close channels with any GUID). */
const MAX_RELEASE_CHECKS = 10_000;

export class ClusterRules {
  /** ip → clients that lost a channel on it, waiting for the check. */
  private readonly releaseChecks = new Map<string, Set<string>>();
  private releaseCheckCount = 0;
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ClusterRulesDeps) {}

  /**
   * A channel closed. It ends that channel only: whoever knows a ClientGUID can open a channel with it
   * and close it, with a FIN or a reset, so a closing channel proves nothing about the client. What ends
   * the whole client is its IP being released: RELEASE_IP (the machine remembers the public IPs a client
   * lost a channel on for a minute, as ctdb's releaseip resets those channels before RELEASE_IP arrives),
   * or, should RELEASE_IP never come, ctdbd showing a little later that the IP is no longer this node's.
   */
  onChannelClosed(clientGuid: string, channelId: number): void {
    const { registry } = this.deps;
    const closed = registry.view(clientGuid)?.context.channels.find((c) => c.id === channelId);
    registry.send(clientGuid, { type: 'CHANNEL_CLOSED', channelId });
    if (!closed?.onPublicIp || !registry.has(clientGuid)) return;
    if (this.releaseCheckCount >= MAX_RELEASE_CHECKS) return;
    const ip = canonicalIp(closed.tuple.localAddress);
    const waiting = this.releaseChecks.get(ip) ?? new Set<string>();
    if (!waiting.has(clientGuid)) this.releaseCheckCount++;
    waiting.add(clientGuid);
    this.releaseChecks.set(ip, waiting);
    this.releaseTimer ??= setTimeout(() => this.checkReleases(), RELEASE_CHECK_MS);
    this.releaseTimer.unref();
  }

  stop(): void {
    clearTimeout(this.releaseTimer);
  }

  private checkReleases(): void {
    this.releaseTimer = undefined;
    const checks = [...this.releaseChecks];
    this.releaseChecks.clear();
    this.releaseCheckCount = 0;
    const { cluster, registry, log } = this.deps;
    cluster
      .publicIps()
      .then((ips) => {
        for (const [ip, clients] of checks) {
          const owner = ips.find((p) => canonicalIp(p.address) === ip)?.owner;
          if (owner === cluster.pnn) continue;
          log.info(
            { ip, owner, clients: clients.size },
            `public IP ${ip} is no longer this node's (no RELEASE_IP seen): tearing down the clients that lost a channel on it`,
          );
          for (const guid of clients) registry.send(guid, { type: 'RELEASE_IP', ip });
        }
      })
      .catch(this.deps.failed('public IP check after a lost channel'));
  }

  onClusterEvent(e: ClusterEvent): void {
    const { registry, metrics, log } = this.deps;
    metrics.clusterEvents.inc({ type: e.type });
    this.deps.observed(e);
    switch (e.type) {
      case 'ip-released': {
        // Refused first: a client reset below reconnects at once, and the address is still here until
        // 10.interface has killed every connection to it (releasing-ips.ts).
        this.deps.releasing.released(e.ip);
        const reset = this.resetAtOnce(registry.clientsOnIp(e.ip, e.at));
        const affected = registry.releaseIp(e.ip, e.at);
        const pending = this.deps.closePendingTo(e.ip);
        log.info(
          { ip: e.ip, clients: affected.length, ...(reset ? { reset } : {}), pendingClosed: pending },
          `RELEASE_IP ${e.ip}: tearing down ${affected.length} client(s) with a channel on it${describeReset(reset)}; new connections to it refused until it is taken again${pending ? `; ${pending} connection(s) still waiting for their NEGOTIATE closed` : ''}`,
        );
        break;
      }
      case 'ip-taken':
        if (this.deps.releasing.has(e.ip))
          log.info({ ip: e.ip }, `TAKE_IP ${e.ip}: taking connections to it again`);
        this.deps.releasing.taken(e.ip);
        break;
      case 'lost': {
        metrics.clusterConnected.set(0);
        const reset = this.resetAtOnce(registry.clientsWithPublicChannels());
        const affected = registry.clusterLost(e.at);
        log.warn(
          { clients: affected.length, ...(reset ? { reset } : {}) },
          `lost ctdbd: every public IP of this node counts as released; tearing down ${affected.length} client(s)${describeReset(reset)}`,
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

  /**
   * Every channel of the clients about to be torn down, reset by the kernel in one batch before their
   * owners hear of it: the clients see the reset at once instead of one owner's close order at a time.
   * Their owners are told afterwards, as always (their sockets are dead by then).
   */
  private resetAtOnce(clientGuids: string[]): DestroyOutcome | undefined {
    const channels = clientGuids.flatMap((guid) => this.deps.registry.view(guid)?.context.channels ?? []);
    if (channels.length === 0) return undefined;
    const outcome = this.deps.resetChannels(channels);
    if (outcome) {
      const counter = this.deps.metrics.channelsResetAtOnce;
      counter.inc({ result: 'killed' }, outcome.killed);
      counter.inc({ result: 'already-gone' }, outcome.alreadyGone);
      counter.inc({ result: 'failed' }, outcome.failed.length);
    }
    return outcome;
  }

  /** An event from ctdbd's event script (09.mcc.script), a second path beside ctdbd's messages. */
  onScriptEvent(event: string, args: string[]): void {
    const { cluster, publicIps } = this.deps;
    if (event === 'releaseip' && args[1])
      this.onClusterEvent({ type: 'ip-released', ip: args[1], pnn: cluster.pnn, at: Date.now() });
    else if (event === 'ipreallocated' || event === 'takeip' || event === 'updateip') {
      // This node serves the IP again; 09 runs before 10.interface adds the address, so nothing can
      // have arrived on it in between.
      if (event === 'takeip' && args[1]) this.deps.releasing.taken(args[1]);
      publicIps.refresh(`script:${event}`).catch(this.deps.failed('public IP refresh', { trigger: event }));
    }
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

function describeReset(reset: DestroyOutcome | undefined): string {
  if (!reset) return '';
  const failed = reset.failed.length;
  if (failed > 0 && reset.killed === 0)
    return ` (SOCK_DESTROY refused: errno ${reset.failed[0]!.errno}; owners close them)`;
  return `; SOCK_DESTROY reset ${reset.killed} channel(s) at once${failed ? `, ${failed} failed` : ''}`;
}
