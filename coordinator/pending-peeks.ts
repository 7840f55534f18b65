/**
 * The pending-peek bounds against the open-file limit: each connection waiting for its NEGOTIATE holds
 * one fd (native/src/acceptor.cc keeps the bounds and sheds the oldest), so the bounds must fit the
 * limit mccd actually runs under, with room left for everything else.
 */
import { readFileSync } from 'node:fs';

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
