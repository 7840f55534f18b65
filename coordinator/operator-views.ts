/**
 * This node's channels as operators read them (`mcc channels`, and this node's part of `mcc cluster
 * channels`): the registry's view joined with the interface list and the kernel's TCP_INFO figures,
 * since mccd does not keep the connections' fds.
 */
import type { DiscoveryState } from '../ifdiscovery/index.js';
import { listTcpSockets, socketTupleLabel } from '../native/index.js';
import type { ClientRegistry } from '../statecharts/registry.js';

/** One client as `mcc clients` shows it (GET /v1/clients). */
export interface ClientRow {
  clientGuid: string;
  state: string;
  owner: { kind: string; id: string; pid?: number } | null;
  dialect: number | null;
  channels: number;
  onPublicIp: boolean;
  teardownReason: unknown;
  ageMs: number;
}

export function clientRows(registry: ClientRegistry, now: number): ClientRow[] {
  return [...registry.views()].map((v) => ({
    clientGuid: v.clientGuid,
    state: v.state,
    owner: v.context.owner ?? null,
    dialect: v.context.dialect ?? null,
    channels: v.context.channels.length,
    onPublicIp: v.context.channels.some((ch) => ch.onPublicIp),
    teardownReason: v.context.teardownReason ?? null,
    ageMs: now - v.context.createdAt,
  }));
}

/** One channel as `mcc channels` shows it: Get-SmbMultichannelConnection's columns and mcc's own. */
export interface ChannelRow {
  node: number;
  clientGuid: string;
  channelId: number;
  state: string;
  clientState: string;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** The client's own interface index is not visible to a server. */
  clientInterfaceIndex: null;
  serverInterfaceIndex: number | null;
  serverInterface: string | null;
  rssCapable: boolean | null;
  rdmaCapable: boolean | null;
  linkSpeed: number | null;
  onPublicIp: boolean;
  transport: string;
  owner: string | null;
  ownerPid: number | null;
  ageMs: number;
  bytesSent: number | null;
  bytesReceived: number | null;
  rttUs: number | null;
}

export interface ChannelRowSources {
  registry: ClientRegistry;
  pnn: number;
  /** The front door's ports: where the kernel is asked for TCP_INFO. */
  ports: number[];
  interfaces: DiscoveryState;
  now: number;
}

type TcpFigures = { bytesAcked?: number; bytesReceived?: number; rttUs?: number };

function tcpFigures(ports: number[]): Map<string, TcpFigures> {
  const byTuple = new Map<string, TcpFigures>();
  try {
    for (const port of new Set(ports)) {
      for (const s of listTcpSockets({ localPort: port, withInfo: true }))
        byTuple.set(socketTupleLabel(s), s);
    }
  } catch {
    // no sock_diag: rows without byte counts
  }
  return byTuple;
}

export function channelRows(from: ChannelRowSources): ChannelRow[] {
  const tcp = tcpFigures(from.ports);
  const announced = new Map(from.interfaces.announced.map((a) => [a.address, a]));
  const rows: ChannelRow[] = [];
  for (const v of from.registry.views()) {
    for (const c of v.context.channels) {
      const t = c.tuple;
      const info = tcp.get(socketTupleLabel(t));
      const iface = announced.get(t.localAddress);
      rows.push({
        node: from.pnn,
        clientGuid: v.clientGuid,
        channelId: c.id,
        state: c.state,
        clientState: v.state,
        clientIp: t.remoteAddress,
        clientPort: t.remotePort,
        serverIp: t.localAddress,
        serverPort: t.localPort,
        clientInterfaceIndex: null,
        serverInterfaceIndex: iface?.ifIndex ?? null,
        serverInterface: iface?.interfaceName ?? c.interfaceName ?? null,
        rssCapable: iface ? iface.rss : null,
        rdmaCapable: iface ? iface.rdma : null,
        linkSpeed: iface ? iface.speed : null,
        onPublicIp: c.onPublicIp,
        transport: c.transport,
        owner: v.context.owner ? `${v.context.owner.kind}:${v.context.owner.id}` : null,
        ownerPid: v.context.owner?.pid ?? null,
        ageMs: from.now - c.createdAt,
        bytesSent: info?.bytesAcked ?? null,
        bytesReceived: info?.bytesReceived ?? null,
        rttUs: info?.rttUs ?? null,
      });
    }
  }
  return rows;
}
