/**
 * What mccd holds a worker connection to: a worker speaks only of the clients and channels mccd handed
 * it, acknowledges only the teardown orders it was sent, and is cut off when it keeps sending messages
 * mccd has to refuse. Any process with the worker socket's uid can connect, so none of this is trusted.
 */
import { randomBytes } from 'node:crypto';

export type BadWorkerMessage =
  /** longer than the carrier's buffer (MSG_TRUNC) */
  | 'oversize'
  /** carried fds (workers never send any), or more than fit (MSG_CTRUNC) */
  | 'fds'
  /** not JSON, or not a message of the protocol */
  | 'malformed'
  | 'before-register'
  | 'register-twice'
  /** about a client or channel mccd did not hand to this worker */
  | 'not-owner'
  /** a teardown-done for no teardown order sent to this worker */
  | 'unknown-teardown'
  /** `held`/`held-done` from a worker that did not register as resuming (or already said held-done) */
  | 'not-resuming';

/** Why a message was refused, and what the error reply says. */
export type Refusal = [BadWorkerMessage, string];

/** Bad messages a connection may send per window before it is disconnected (honest workers send none). */
export const BAD_MESSAGE_LIMIT = 50;
const WINDOW_MS = 60_000;

/** A teardown sequence number no other process can guess (48 random bits, a safe JSON integer). */
export function teardownSeq(): number {
  return randomBytes(6).readUIntBE(0, 6);
}

/** Counts one connection's bad messages in a window; says when it has had enough. */
export class Conduct {
  private windowStart = Date.now();
  private strikes = 0;
  total = 0;

  constructor(private readonly limit = BAD_MESSAGE_LIMIT) {}

  /** One more bad message; true when the connection is over its limit and must be cut off. */
  strike(now = Date.now()): boolean {
    if (now - this.windowStart > WINDOW_MS) {
      this.windowStart = now;
      this.strikes = 0;
    }
    this.strikes++;
    this.total++;
    return this.strikes > this.limit;
  }
}

/** What a registered worker was given: its clients' channels, and the teardown orders it owes an answer. */
export interface WorkerHoldings {
  /** clientGuid → ids of the channels handed to this worker */
  clients: Map<string, Set<number>>;
  /** clientGuid → the teardown order in flight to this worker */
  teardowns: Map<string, { seq: number; done: () => void }>;
  /** clientGuid → seq of a teardown that timed out: its answer may still come, late but honest */
  late: Map<string, number>;
}

export function emptyHoldings(): WorkerHoldings {
  return { clients: new Map(), teardowns: new Map(), late: new Map() };
}

/** Whether the worker may report on this client (and channel). */
export function owns(h: WorkerHoldings, clientGuid: string, channelId?: number): boolean {
  const channels = h.clients.get(clientGuid);
  return channels !== undefined && (channelId === undefined || channels.has(channelId));
}

const LATE_KEPT = 1024;

export function rememberLate(h: WorkerHoldings, clientGuid: string, seq: number): void {
  if (h.late.size >= LATE_KEPT) h.late.delete(h.late.keys().next().value!);
  h.late.set(clientGuid, seq);
}
