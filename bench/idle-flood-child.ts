import { connect } from 'node:net';

/**
 * An idle-connection flood, as an attacker without privileges would run it: hold `perSource` connections
 * from each source address open without sending a byte, and re-open each one as soon as the server closes
 * it, until `durationMs` has passed. Loopback only (the caller passes 127.x addresses). The caller raises
 * this process's open-file limit to fit (prlimit): it holds one fd per connection.
 *
 * node dist/bench/idle-flood-child.js '{"port":N,"sources":["127.0.0.2"],"perSource":1000,"durationMs":20000}'
 * → one JSON line: { opened, closedByServer, errors: { code: n }, held: { min, median, max } } where
 * `held` is how many of its connections were established at once, sampled every 250 ms after the first
 * 3 s (the ramp-up, SYN retransmits at 1 s and 3 s included).
 */
const args = JSON.parse(process.argv[2] ?? '{}') as {
  host?: string;
  port: number;
  sources: string[];
  perSource: number;
  durationMs: number;
};
const start = Date.now();
const end = start + args.durationMs;
let opened = 0;
let closedByServer = 0;
let established = 0;
const errors: Record<string, number> = {};
const heldSamples: number[] = [];

function hold(source: string): void {
  if (Date.now() >= end) return;
  const s = connect({ port: args.port, host: args.host ?? '127.0.0.1', localAddress: source });
  opened++;
  let up = false;
  s.once('connect', () => {
    up = true;
    established++;
  });
  s.on('error', (e: NodeJS.ErrnoException) => {
    errors[e.code ?? 'error'] = (errors[e.code ?? 'error'] ?? 0) + 1;
  });
  s.on('close', () => {
    if (up) established--;
    closedByServer++;
    // A short pause keeps a refused connect from spinning; the flood is still thousands per second.
    setTimeout(() => hold(source), 2);
  });
}

for (const source of args.sources) for (let i = 0; i < args.perSource; i++) hold(source);
const sampler = setInterval(() => {
  if (Date.now() - start >= 3000) heldSamples.push(established);
}, 250);
setTimeout(() => {
  clearInterval(sampler);
  const sorted = heldSamples.sort((a, b) => a - b);
  const held = {
    min: sorted[0] ?? 0,
    median: sorted[sorted.length >> 1] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
  console.log(JSON.stringify({ opened, closedByServer, errors, held }));
  process.exit(0);
}, args.durationMs + 100);
