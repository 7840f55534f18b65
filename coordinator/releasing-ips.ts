/**
 * The public IPs this node is letting go of. ctdb's releaseip runs the event scripts in order: 09.mcc
 * (mccd resets the IP's clients) first, then 10.interface, which firewalls the IP, kills every TCP
 * connection to it (the server side only) and only then removes the address. With a flood on the IP
 * that kill takes seconds (2,655 connections: 3.4 s in the hostile failover profile), and a client that
 * reconnects at once still finds the address here: it was accepted, bound to this node again, and then
 * lost its channels one by one — the one on the public IP never told, as its packets were dropped by the
 * firewall and the kill resets only this node's socket. So between the release and this node taking the
 * IP again, connections to it are closed before they are read.
 */
import { canonicalIp } from '../wire/ip.js';

/**
 * How long a release is believed without a take: longer than ctdb lets a releaseip run (its event script
 * timeout, 30 s by default). Should the take never be seen (no TAKE_IP, no takeip event), the IP is not
 * refused for ever; it has left the node by then anyway, or ctdb banned the node for a failed release.
 */
export const RELEASE_HOLD_MS = 60_000;

/** An address as the front door reports it; a malformed one (from the event script) as it came. */
function key(ip: string): string {
  try {
    return canonicalIp(ip);
  } catch {
    return ip;
  }
}

export class ReleasingIps {
  private readonly since = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** This node started releasing `ip` (the releaseip event, or ctdbd's RELEASE_IP after it). */
  released(ip: string): void {
    this.since.set(key(ip), this.now());
  }

  /** This node took `ip` (the takeip event or ctdbd's TAKE_IP): it serves it again. */
  taken(ip: string): void {
    this.since.delete(key(ip));
  }

  /** Whether connections to local address `address` are to be refused now. */
  has(address: string): boolean {
    // Asked for every connection, and nearly always nothing is being released.
    if (this.since.size === 0) return false;
    const k = key(address);
    const at = this.since.get(k);
    if (at === undefined) return false;
    if (this.now() - at < RELEASE_HOLD_MS) return true;
    this.since.delete(k);
    return false;
  }
}
