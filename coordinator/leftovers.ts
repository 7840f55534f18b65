/**
 * Connections on our SMB ports that this (new) mccd never accepted and has no state about: left by an
 * mccd whose state file is missing or refused (restore.ts takes them back when there is one). Nothing
 * would tear them down on RELEASE_IP and their ClientGUIDs are unknown, so they are closed, and their
 * clients reconnect through this mccd. Must run before the front door accepts, so no connection of ours
 * can be among them; connections still queued on a socket-activated front door are left to it.
 */
import { destroySockets, listTcpSockets, type SocketTuple, TCP_STATES_OPEN } from '../native/index.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

const isWildcard = (address: string) => address === '0.0.0.0' || address === '::';

export function closeLeftoverChannels(
  listen: { address: string; port: number }[],
  metrics: Metrics,
  log: Logger,
): void {
  const fixedPorts = listen.filter((l) => l.port !== 0);
  const leftovers: SocketTuple[] = [];
  try {
    for (const port of new Set(fixedPorts.map((l) => l.port))) {
      for (const s of listTcpSockets({ localPort: port, states: TCP_STATES_OPEN })) {
        const ours = fixedPorts.some(
          (l) => l.port === port && (isWildcard(l.address) || l.address === s.localAddress),
        );
        // inode 0: a connection still in the listen queue (socket activation keeps it across a
        // restart), not yet accepted by anyone: it is ours to accept, not a leftover.
        if (ours && s.inode !== 0) leftovers.push(s);
      }
    }
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'cannot list TCP sockets: leftover channels not checked');
    return;
  }
  if (leftovers.length === 0) return;
  const closed = destroySockets(leftovers).filter((r) => r === 'destroyed').length;
  metrics.leftoverChannelsClosed.inc(closed);
  log.warn(
    { found: leftovers.length, closed },
    `closed ${closed} of ${leftovers.length} channel(s) left by a previous mccd: their clients reconnect through this one`,
  );
}
