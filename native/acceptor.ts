/**
 * The front door's accept loop in C++ (native/src/acceptor.cc): accept, peek the first frame under a
 * deadline and a size cap, keep the pending bounds, and report in batches. The caller judges each
 * frame; it owns the fd of every `ready` connection and must close it.
 */
import { type AcceptEndpoints, type AcceptReport, addon, type RawAcceptor } from './addon.js';
import { call } from './errors.js';

export interface AcceptorOptions {
  /** Most bytes peeked; a first frame announcing more is reported as it is (the caller says oversized). */
  maxBytes: number;
  /** How long a connection may take to send its first frame. */
  deadlineMs: number;
  /** Connections waiting for their first frame, overall and from one source address (oldest shed). */
  maxPending: number;
  maxPendingPerAddress: number;
  /** The open-file limit: an accepted fd numbered near it sheds the oldest pending connections. */
  fdLimit?: number;
}

export type { AcceptReport };

export class Acceptor {
  private readonly raw: RawAcceptor;

  constructor(options: AcceptorOptions, onReports: (reports: AcceptReport[]) => void) {
    this.raw = call(
      () =>
        new addon.Acceptor(
          {
            maxBytes: options.maxBytes,
            deadlineMs: options.deadlineMs,
            maxPending: options.maxPending,
            maxPendingPerAddress: options.maxPendingPerAddress,
            fdLimit: options.fdLimit ?? 0,
          },
          onReports,
        ),
    );
  }

  /** Accepts on `fd` (a listening socket the caller keeps and closes after close()). */
  listen(fd: number, label: string): void {
    call(() => this.raw.listen(fd, label));
  }

  /** Connections accepted and still waiting for their first frame (one fd each). */
  pending(): number {
    return this.raw.pending();
  }

  /** Closes the connections to `localAddress` still waiting for their first frame; which they were. */
  closePendingTo(localAddress: string): Omit<AcceptEndpoints, 'acceptedAt'>[] {
    return call(() => this.raw.closePendingTo(localAddress));
  }

  /** Stops accepting; pending connections are closed unreported. */
  close(): void {
    this.raw.close();
  }
}

/**
 * A non-blocking listening TCP socket on an IP address (SO_REUSEADDR, as Node's own listeners). With
 * `reusePort` (SO_REUSEPORT) several such sockets of one process share the address, each with queues of
 * its own; the kernel spreads connections over them by their addresses.
 */
export function listenTcp(address: string, port: number, backlog: number, reusePort = false): number {
  return call(() => addon.listenTcp(address, port, backlog, reusePort));
}

/** listen(2) again on an inherited listening socket, for this backlog. */
export function relisten(fd: number, backlog: number): void {
  call(() => addon.relisten(fd, backlog));
}
