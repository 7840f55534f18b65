/**
 * The front door's accept loop in C++ (native/src/acceptor.cc): accept, peek the first frame under a
 * deadline and a size cap, keep the pending bounds, and report in batches. The caller judges each
 * frame; it owns the fd of every `ready` connection and must close it.
 */
import { addon, type RawAcceptor, type RawAcceptReport } from './addon.js';
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

interface Endpoints {
  local: { address: string; port: number };
  remote: { address: string; port: number };
  acceptedAt: number;
}

/** What the acceptor is done with; every kind but `ready` is already closed. */
export type AcceptReport =
  | (Endpoints & { kind: 'ready'; fd: number; bytes: Buffer })
  | (Endpoints & { kind: 'eof' | 'timeout'; bytes: Buffer; detail: string })
  | (Endpoints & { kind: 'shed' | 'error'; detail: string; code?: string })
  | { kind: 'accept-error'; listener: string; code: string; detail: string };

function report(r: RawAcceptReport): AcceptReport {
  const endpoints: Endpoints = {
    local: { address: r.localAddress, port: r.localPort },
    remote: { address: r.remoteAddress, port: r.remotePort },
    acceptedAt: r.acceptedAt,
  };
  switch (r.kind) {
    case 0:
      return { ...endpoints, kind: 'ready', fd: r.fd, bytes: r.bytes };
    case 1:
    case 2:
      return { ...endpoints, kind: r.kind === 1 ? 'eof' : 'timeout', bytes: r.bytes, detail: r.detail ?? '' };
    case 3:
    case 4:
      return {
        ...endpoints,
        kind: r.kind === 3 ? 'shed' : 'error',
        detail: r.detail ?? '',
        ...(r.code ? { code: r.code } : {}),
      };
    default: {
      const detail = r.detail ?? '';
      return {
        kind: 'accept-error',
        listener: detail.split(': ')[0] ?? '',
        code: r.code ?? 'EUNKNOWN',
        detail,
      };
    }
  }
}

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
          (raw) => onReports(raw.map(report)),
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
  closePendingTo(localAddress: string): Omit<Endpoints, 'acceptedAt'>[] {
    return call(() => this.raw.closePendingTo(localAddress)).map((c) => ({
      local: { address: c.localAddress, port: c.localPort },
      remote: { address: c.remoteAddress, port: c.remotePort },
    }));
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
