/**
 * The connections the front door is still peeking at (waiting for their NEGOTIATE), bounded overall and
 * per source address. Each holds one fd and a few hundred bytes, and anyone who can reach the SMB port can
 * open them without sending a byte, so the bounds are what stops an idle flood from exhausting mccd's fds.
 *
 * At a bound the OLDEST pending connection goes, not the new one: a real client sends its NEGOTIATE
 * with its first segment and is pending for one round trip, so the oldest pending connection is the one
 * least likely to be a client. Refusing the newest instead would let a flooder that keeps the set full
 * lock every real client out.
 */
import { readFileSync } from 'node:fs';

export class PendingPeeks<T> {
  /** Insertion order is age order: the first key is the oldest. */
  private readonly all = new Map<T, string>();
  private readonly byAddress = new Map<string, Set<T>>();

  constructor(
    readonly max: number,
    readonly maxPerAddress: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Pending connections from `address` right now. */
  from(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /**
   * Adds `item` from `address`; returns what must be closed to stay within the bounds (its own address's
   * oldest when that address is at its bound, else the oldest overall), already removed from the set.
   */
  add(address: string, item: T): { evicted: T; why: 'per-address' | 'overall' }[] {
    const out: { evicted: T; why: 'per-address' | 'overall' }[] = [];
    let own = this.byAddress.get(address);
    while (own && own.size >= this.maxPerAddress) {
      const oldest = own.values().next().value as T;
      this.delete(oldest);
      out.push({ evicted: oldest, why: 'per-address' });
      own = this.byAddress.get(address);
    }
    while (this.all.size >= this.max) {
      const oldest = this.all.keys().next().value as T;
      this.delete(oldest);
      out.push({ evicted: oldest, why: 'overall' });
    }
    this.all.set(item, address);
    if (!own) {
      own = new Set();
      this.byAddress.set(address, own);
    }
    own.add(item);
    return out;
  }

  delete(item: T): boolean {
    const address = this.all.get(item);
    if (address === undefined) return false;
    this.all.delete(item);
    const own = this.byAddress.get(address);
    own?.delete(item);
    if (own?.size === 0) this.byAddress.delete(address);
    return true;
  }

  /** Up to `n` of the oldest, removed from the set (shedding when the process runs out of fds). */
  takeOldest(n: number): T[] {
    const out: T[] = [];
    for (const item of this.all.keys()) {
      if (out.length >= n) break;
      out.push(item);
    }
    for (const item of out) this.delete(item);
    return out;
  }

  *items(): IterableIterator<T> {
    yield* this.all.keys();
  }
}

export class LimitsParseError extends Error {
  override readonly name = 'LimitsParseError';
}

/**
 * The soft "Max open files" limit from the text of /proc/PID/limits: a number, undefined for
 * "unlimited", or a typed error when the line is missing or malformed.
 */
export function parseOpenFileLimit(
  text: string,
): { ok: true; limit: number | undefined } | { ok: false; error: LimitsParseError } {
  const m = /^Max open files[ \t]+(\S+)[ \t]+\S+[ \t]+files[ \t]*$/m.exec(text);
  if (!m) return { ok: false, error: new LimitsParseError('no "Max open files" line') };
  if (m[1] === 'unlimited') return { ok: true, limit: undefined };
  if (!/^\d{1,15}$/.test(m[1]!))
    return { ok: false, error: new LimitsParseError(`soft limit ${JSON.stringify(m[1])} is not a number`) };
  return { ok: true, limit: Number(m[1]) };
}

/** This process's soft RLIMIT_NOFILE; undefined when unlimited or unknown (no /proc). */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseOpenFileLimit(text);
  return parsed.ok ? parsed.limit : undefined;
}

/**
 * fds kept out of the pending-peek budget: the listeners, the API's connections, workers and smbd pool
 * carriers, connections between peek and handoff, ctdbd, logs. A quarter of the limit and at least 256.
 */
export function reservedFds(limit: number): number {
  return Math.max(256, Math.ceil(limit / 4));
}

/**
 * The pending-peek bounds that fit the fd limit mccd actually runs under: the configured ones, lowered
 * when the limit (systemd's LimitNOFILE, a shell's ulimit -n) leaves less room. `lowered` says why.
 */
export function effectivePendingBounds(
  configured: { maxPending: number; maxPendingPerAddress: number },
  limit: number | undefined,
): { maxPending: number; maxPendingPerAddress: number; lowered?: string } {
  if (limit === undefined) return { ...configured };
  const room = Math.max(16, limit - reservedFds(limit));
  if (room >= configured.maxPending)
    return {
      maxPending: configured.maxPending,
      maxPendingPerAddress: Math.min(configured.maxPendingPerAddress, configured.maxPending),
    };
  return {
    maxPending: room,
    maxPendingPerAddress: Math.min(configured.maxPendingPerAddress, room),
    lowered: `negotiate.maxPending ${configured.maxPending} lowered to ${room}: the open-file limit is ${limit} and ${reservedFds(limit)} fds are kept for everything else`,
  };
}
