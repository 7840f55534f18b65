import { readFileSync } from 'node:fs';
import { WireError } from '../wire/errors.js';

/** A failure the user caused: printed as one line on stderr, exit status 2 (usage/bad input). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export async function readInput(file: string): Promise<Uint8Array> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    return new Uint8Array(readFileSync(file));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs a command body and maps its errors to the CLI's exit statuses: 2 for bad input, 1 otherwise. */
export async function runCommand(what: string, body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof WireError || error instanceof UsageError) {
      process.stderr.write(`mcc ${what}: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`mcc ${what}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

/**
 * An address as people type it: `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address (more
 * than one colon and no brackets means no port). Without a port, `defaultPort` applies, or it is an error.
 */
export function parseHostPort(
  text: string,
  what: string,
  defaultPort?: number,
): { host: string; port: number } {
  const bad = (why: string) => new UsageError(`${what}: ${why}, got ${JSON.stringify(text)}`);
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const bareV6 = m === null && /^[0-9a-zA-Z:.%]+$/.test(text) && text.split(':').length > 2;
  if (m === null && !bareV6) throw bad('expected HOST, HOST:PORT or [IPV6]:PORT');
  const host = m ? m[1]! : text;
  if (m?.[2] !== undefined) return { host, port: parsePort(m[2], what) };
  if (defaultPort === undefined) throw bad('a port is needed (HOST:PORT)');
  return { host, port: defaultPort };
}

export function parsePort(text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    throw new UsageError(`${what}: the port must be 1-65535, got ${JSON.stringify(text)}`);
  return port;
}

/** Plain aligned columns, like `ctdb status`. */
export function formatTable(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
