import { EventEmitter } from 'node:events';
import { plainIp } from '../wire/ip.js';
import {
  InterfaceCapability,
  interfaceInfoPush,
  type NetworkInterfaceInfo,
} from '../wire/smb2/interface-info.js';
import type { DiscoveryConfig } from './config.js';
import {
  type AddressSource,
  enumerateLocalAddresses,
  type FactsSource,
  type LocalAddress,
} from './enumerate.js';
import type { PublicIpTracker } from './public-ips.js';
import { smbConfInterfacesLine } from './smbconf.js';

export interface DiscoveryState {
  /** What is announced, in order. */
  announced: LocalAddress[];
  /** Local addresses left out because they are CTDB public IPs. */
  publicFiltered: string[];
  /** NETWORK_INTERFACE_INFO bytes for `announced`, cached until the next update. */
  encoded: Uint8Array;
  /** False until the cluster's public IPs were read once: until then nothing is announced. */
  clusterKnown: boolean;
  computedAt: number;
}

export interface DiscoveryUpdate {
  trigger: string;
  /** From the cluster event (its receipt time) to the new answer being ready, when an event caused it. */
  latencyMs: number | undefined;
  state: DiscoveryState;
}

export function toWireEntry(a: LocalAddress): NetworkInterfaceInfo {
  return {
    ifIndex: a.ifIndex,
    capability: (a.rss ? InterfaceCapability.RSS : 0) | (a.rdma ? InterfaceCapability.RDMA : 0),
    linkSpeed: BigInt(a.speed),
    family: a.family,
    address: a.address,
  };
}

/**
 * What this node answers to FSCTL_QUERY_NETWORK_INTERFACE_INFO: its own addresses minus every CTDB
 * public IP, recomputed on cluster events and on a timer, encoded once per change.
 */
export class InterfaceDiscovery extends EventEmitter<{
  updated: [DiscoveryUpdate];
  /** Enumerating addresses failed (e.g. EMFILE in uv_interface_addresses); the last list stays. */
  'refresh-failed': [{ trigger: string; error: Error }];
}> {
  private state: DiscoveryState;
  private all: LocalAddress[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly onChanged = (c: { trigger: string; eventAt: number | undefined }) =>
    this.refresh(c.trigger, c.eventAt);

  constructor(
    private readonly config: DiscoveryConfig,
    private readonly publicIps: PublicIpTracker,
    private readonly sources: {
      addresses?: AddressSource;
      facts?: FactsSource;
      rdma?: Map<string, unknown>;
    } = {},
  ) {
    super();
    this.state = this.compute();
  }

  start(refreshIntervalMs = 30_000): void {
    this.publicIps.on('changed', this.onChanged);
    this.refresh('start');
    // Fixed addresses change rarely (an operator adds one); a slow timer catches that.
    this.timer = setInterval(() => this.refresh('timer'), refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.publicIps.off('changed', this.onChanged);
    clearInterval(this.timer);
  }

  current(): DiscoveryState {
    return this.state;
  }

  refresh(trigger: string, eventAt?: number): DiscoveryState {
    try {
      this.state = this.compute();
    } catch (error) {
      // Out of fds (the netlink socket behind uv_interface_addresses) must not end the process from a
      // timer. The last list stays, less any address that has since become a public IP: that rule holds
      // even when nothing else can be recomputed.
      const announced = this.state.announced.filter((a) => !this.publicIps.has(a.address));
      if (announced.length !== this.state.announced.length)
        this.state = { ...this.state, announced, encoded: interfaceInfoPush(announced.map(toWireEntry)) };
      this.emit('refresh-failed', { trigger, error: error as Error });
      return this.state;
    }
    this.emit('updated', {
      trigger,
      latencyMs: eventAt === undefined ? undefined : Date.now() - eventAt,
      state: this.state,
    });
    return this.state;
  }

  /**
   * The answer for a connection whose local address is `requester`: the cached list, plus that address
   * when configured and it is one of ours but not in the list (e.g. a public IP the client is on).
   */
  answerFor(requester?: string): Uint8Array {
    if (!requester || !this.config.includeRequesterAddress) return this.state.encoded;
    const address = plainIp(requester);
    if (this.state.announced.some((a) => a.address === address)) return this.state.encoded;
    const own = this.all.find((a) => a.address === address);
    if (!own) return this.state.encoded;
    return interfaceInfoPush([...this.state.announced, own].map(toWireEntry));
  }

  smbConfLine(): string {
    return smbConfInterfacesLine(this.state.announced);
  }

  private compute(): DiscoveryState {
    this.all = enumerateLocalAddresses(this.config, this.sources);
    const clusterKnown = this.publicIps.ready;
    const announced = clusterKnown ? this.all.filter((a) => !this.publicIps.has(a.address)) : [];
    const publicFiltered = this.all.filter((a) => this.publicIps.has(a.address)).map((a) => a.address);
    return {
      announced,
      publicFiltered,
      encoded: interfaceInfoPush(announced.map(toWireEntry)),
      clusterKnown,
      computedAt: Date.now(),
    };
  }
}
