import type { Socket } from 'node:net';

/**
 * How a socket ended, recorded from its own events. A promise that simply resolves on 'close' cannot fail
 * — closing it here resolves it too — so the tests ask *who* ended it and *when*, and bound the wait.
 *
 * - `eof`: the peer sent a FIN (we saw 'end' before 'close');
 * - an errno code such as `ECONNRESET`: the peer reset it;
 * - `closed-here`: this process destroyed it, so it proves nothing about the peer.
 */
export type SocketEnd = 'eof' | 'closed-here' | string;

export function watchEnd(socket: Socket): Promise<SocketEnd> {
  let peerFin = false;
  socket.once('end', () => {
    peerFin = true;
  });
  return new Promise<SocketEnd>((resolve) => {
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.once('close', () => resolve(peerFin ? 'eof' : 'closed-here'));
  });
}

/** The peer's FIN or reset; anything else (this side closing it) is not an end by the peer. */
export const ENDED_BY_PEER = /^(eof|ECONNRESET|EPIPE)$/;

/**
 * Waits at most `ms` for `ended`. The deadline sits well inside the test's timeout so that a channel that
 * stays open fails with its own name instead of a generic test timeout.
 */
export async function endWithin(ended: Promise<SocketEnd>, ms: number, what: string): Promise<SocketEnd> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([ended, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
