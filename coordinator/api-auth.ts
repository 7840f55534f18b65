/**
 * Who may use the TCP operator API: a local tool with the token. A web page in a local browser can
 * reach a loopback port too, so requests that carry an Origin, or name a Host that is not loopback (DNS
 * rebinding), are refused before the token is even looked at.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopback } from './config-fields.js';

export type TcpRefusal = 'origin' | 'host' | 'token';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The host part of a Host header: `[::1]:9445` → `::1`, `localhost:9445` → `localhost`. */
function hostName(header: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (bracketed) return bracketed[1]!;
  return header.replace(/:\d+$/, '');
}

export function isLoopbackHost(header: string | undefined): boolean {
  if (!header) return false;
  const name = hostName(header.toLowerCase());
  return name === 'localhost' || isLoopback(name);
}

export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** Why a TCP request is refused, or undefined when it may go on. */
  refusal(req: IncomingMessage): TcpRefusal | undefined {
    if (req.headers.origin !== undefined) return 'origin';
    if (!isLoopbackHost(req.headers.host)) return 'host';
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    // Digests have one length whatever was sent, so the comparison time says nothing about the token.
    return timingSafeEqual(digest(given), this.expected) ? undefined : 'token';
  }
}
