import { negotiateOnce } from './loadgen.js';

/**
 * A real client's NEGOTIATE, one at a time every `intervalMs` for `durationMs`, from 127.0.0.1: what a
 * client of the node sees while something else happens to mccd. In a process of its own, so nothing the
 * benchmark does (reading /proc) delays it.
 *
 * node dist/bench/negotiate-probe-child.js '{"port":N,"intervalMs":100,"durationMs":30000,"timeoutMs":3000}'
 * → one JSON line: { ms: [latency of each answered one, in order], failures: { reason: n }, sent }.
 */
const args = JSON.parse(process.argv[2] ?? '{}') as {
  host?: string;
  port: number;
  intervalMs: number;
  durationMs: number;
  timeoutMs: number;
};
const end = Date.now() + args.durationMs;
const ms: number[] = [];
const failures: Record<string, number> = {};
let sent = 0;
while (Date.now() < end) {
  sent++;
  try {
    ms.push(await negotiateOnce(args.host ?? '127.0.0.1', args.port, args.timeoutMs));
  } catch (error) {
    const reason = (error as Error).message;
    failures[reason] = (failures[reason] ?? 0) + 1;
  }
  await new Promise((r) => setTimeout(r, args.intervalMs));
}
console.log(JSON.stringify({ ms, failures, sent }));
