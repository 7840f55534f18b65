import { connect } from 'node:net';

/**
 * An idle-connection flood, as an attacker without privileges would run it: hold `perSource` connections
 * from each source address open without sending a byte, and re-open each one as soon as the server closes
 * it, until `durationMs` has passed. Loopback only (the caller passes 127.x addresses).
 *
 * node dist/bench/idle-flood-child.js '{"port":N,"sources":["127.0.0.2"],"perSource":1000,"durationMs":20000}'
 * → one JSON line: { opened, closedByServer, errors: { code: n } }.
 */
const args = JSON.parse(process.argv[2] ?? '{}') as {
  host?: string;
  port: number;
  sources: string[];
  perSource: number;
  durationMs: number;
};
const end = Date.now() + args.durationMs;
let opened = 0;
let closedByServer = 0;
const errors: Record<string, number> = {};

function hold(source: string): void {
  if (Date.now() >= end) return;
  const s = connect({ port: args.port, host: args.host ?? '127.0.0.1', localAddress: source });
  opened++;
  s.on('error', (e: NodeJS.ErrnoException) => {
    errors[e.code ?? 'error'] = (errors[e.code ?? 'error'] ?? 0) + 1;
  });
  s.on('close', () => {
    closedByServer++;
    // A short pause keeps a refused connect from spinning; the flood is still thousands per second.
    setTimeout(() => hold(source), 2);
  });
}

for (const source of args.sources) for (let i = 0; i < args.perSource; i++) hold(source);
setTimeout(() => {
  console.log(JSON.stringify({ opened, closedByServer, errors }));
  process.exit(0);
}, args.durationMs + 100);
