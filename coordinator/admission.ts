/**
 * Admission of a connection the front door accepted: the client's machine takes the channel (or refuses
 * it), the client gets its owner on its first channel, the other nodes are told, and the backend is
 * handed the connection. Also where every refused connection is counted, logged and reported.
 */
import type { ClusterView } from '../ctdb/cluster-view.js';
import type { InterfaceDiscovery, PublicIpTracker } from '../ifdiscovery/index.js';
import { peerStillThere, socketTuple } from '../native/index.js';
import type { ClientRegistry } from '../statecharts/registry.js';
import { type Backend, HandoffRefused } from './backends/backend.js';
import { EventTally } from './event-tally.js';
import type { AcceptedConnection, Rejection } from './front-door.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { NodeLink } from './node-link.js';

export interface AdmissionDeps {
  registry: ClientRegistry;
  backend: Backend;
  cluster: ClusterView;
  /** False in single-node mode: there is no cluster daemon to lose. */
  clusterRequired: boolean;
  publicIps: PublicIpTracker;
  discovery: () => InterfaceDiscovery;
  link: NodeLink;
  /** ClientGUIDs held at once (limits.maxClients): each costs a client machine and its records. */
  maxClients: number;
  /** One client's channels from one source address (limits.maxChannelsPerClientAddress). */
  maxChannelsPerClientAddress: number;
  metrics: Metrics;
  log: Logger;
  rejected: (r: Rejection) => void;
}

export class Admission {
  // Anyone who can reach the SMB port can cause refusals at will: summarised, never a line each.
  private readonly refusals: EventTally;
  private readonly failures: EventTally;
  /** Clients on this node that have claimed their GUID cluster-wide (forgotten when they are gone). */
  private readonly claimed = new Set<string>();

  constructor(private readonly deps: AdmissionDeps) {
    this.refusals = new EventTally(deps.log, { what: 'connections refused', level: 'info' });
    this.failures = new EventTally(deps.log, { what: 'handoffs failed', level: 'warn' });
    deps.registry.on('gone', (v) => this.claimed.delete(v.clientGuid));
  }

  async admit(c: AcceptedConnection): Promise<void> {
    const { registry, backend, cluster, metrics } = this.deps;
    const guid = c.request.clientGuid;
    if (this.deps.clusterRequired && !cluster.connected) {
      // Without ctdbd (or Redis) this node knows neither which public IPs are still its own nor whether another node
      // holds the client (claims travel through ctdbd): a channel accepted now could split the client.
      // smbd in a cluster stops serving without ctdbd for the same reason.
      this.refuse(c, 'cluster-lost', `client ${guid}: no connection to ctdbd, not taking new channels`);
      return;
    }
    if (!registry.has(guid) && registry.size >= this.deps.maxClients) {
      // Every NEGOTIATE with a fresh GUID would otherwise buy a client machine; known clients still get in.
      this.refuse(
        c,
        'client-limit',
        `client ${guid}: ${this.deps.maxClients} clients already (limits.maxClients)`,
      );
      return;
    }
    const fromHere = this.channelsFrom(guid, c.remote.address);
    if (fromHere >= this.deps.maxChannelsPerClientAddress) {
      // Per source address, so channels someone else opens with this GUID from elsewhere can never use
      // up the client's own allowance; refusals name the address, so the stranger is seen.
      this.refuse(
        c,
        'channel-limit',
        `client ${guid}: ${fromHere} channels from ${c.remote.address} already (limits.maxChannelsPerClientAddress)`,
      );
      return;
    }
    const onPublicIp = this.deps.publicIps.has(c.local.address);
    const iface = this.deps
      .discovery()
      .current()
      .announced.find((a) => a.address === c.local.address)?.interfaceName;
    // A client without an owner is offered one with its channel: one machine step, not two.
    const had = registry.view(guid)?.context.owner;
    const accepted = registry.acceptChannel(
      guid,
      {
        tuple: socketTuple(c.local, c.remote),
        ...(iface ? { interfaceName: iface } : {}),
        transport: 'tcp',
        onPublicIp,
        createdAt: c.acceptedAt,
      },
      had ? undefined : backend.chooseOwner(guid),
    );
    if (!accepted.accepted) {
      this.refuse(c, accepted.reason, `client ${guid} ${accepted.reason}`);
      return;
    }
    const owner = had ?? registry.view(guid)?.context.owner;
    if (!owner) {
      registry.send(guid, { type: 'CHANNEL_CLOSED', channelId: accepted.channelId });
      this.refuse(c, 'no-backend', 'no worker registered');
      return;
    }
    // The first channel that can carry the GUID over (a 2.0.2-only one cannot) claims it cluster-wide.
    if (!this.claimed.has(guid) && claimable(guid, c.request.dialects)) {
      this.claimed.add(guid);
      this.deps.link.claim(guid);
    }
    if (onPublicIp && cluster.registerConnection) {
      // As smbd does (ctdbd_register_ips): the node taking this IP over will reset the client at once.
      cluster
        .registerConnection(c.local, c.remote)
        .catch((error: Error) =>
          this.deps.log.warn(
            { client: guid, err: error.message },
            'could not register the connection with ctdbd (TCP_CLIENT)',
          ),
        );
    }
    // A client that already left (it gave up while mccd was busy) costs an owner nothing more.
    if (!peerStillThere(c.fd)) {
      registry.send(guid, { type: 'CHANNEL_CLOSED', channelId: accepted.channelId });
      this.refuse(
        c,
        'client-gone',
        `client ${guid}: the connection was closed before it could be handed off`,
      );
      return;
    }
    try {
      await backend.handOff(owner, { clientGuid: guid, channelId: accepted.channelId, connection: c });
      metrics.handoffs.inc({ backend: backend.kind });
      registry.send(guid, { type: 'CHANNEL_EVENT', channelId: accepted.channelId, event: 'HANDED_OFF' });
    } catch (error) {
      if (error instanceof HandoffRefused) {
        registry.send(guid, { type: 'CHANNEL_CLOSED', channelId: accepted.channelId });
        this.refuse(c, error.reason, `client ${guid}: ${error.message}`);
        return;
      }
      metrics.handoffFailures.inc({ backend: backend.kind });
      // A worker that falls behind fails handoffs by the thousand: one line per cause per interval.
      const err = (error as Error).message;
      this.failures.note(err, { client: guid, err }, `handoff failed: ${err}`);
      registry.send(guid, { type: 'CHANNEL_CLOSED', channelId: accepted.channelId });
    }
  }

  private channelsFrom(guid: string, address: string): number {
    let n = 0;
    for (const ch of this.deps.registry.view(guid)?.context.channels ?? [])
      if (ch.tuple.remoteAddress === address) n++;
    return n;
  }

  /** Counts, logs (the first of its reason per interval) and reports a connection closed before handoff. */
  reject(r: Rejection): void {
    this.deps.metrics.rejected.inc({ reason: r.reason });
    if (r.code) this.deps.metrics.parseErrors.inc({ parser: 'negotiate', code: r.code });
    const message =
      r.reason === 'smb1'
        ? 'closing SMB1 connection: SMB1 is not served, only SMB2 and later'
        : `closing connection: ${r.detail}`;
    this.refusals.note(r.reason, { remote: r.remote, local: r.local }, message);
    this.deps.rejected(r);
  }

  private refuse(c: AcceptedConnection, reason: Rejection['reason'], detail: string): void {
    c.close();
    this.reject({
      reason,
      detail,
      remote: `${c.remote.address}:${c.remote.port}`,
      local: `${c.local.address}:${c.local.port}`,
    });
  }
}

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/**
 * Whether a client's first channel here is announced to the other nodes (which drop the client there).
 * As smbd 4.17 (smbd_smb2_request_process_negprot): only a NEGOTIATE that can go past SMB 2.0.2, which
 * is where a ClientGUID means anything (2.0.2 clients send zeros), takes the ClientGUID over from
 * another node. smbd checks the dialect it selected; mccd, before any backend answers, what was offered.
 */
export function claimable(guid: string, dialects: readonly number[]): boolean {
  return guid !== ZERO_GUID && dialects.some((d) => d >= 0x0210 && d !== 0x02ff);
}
