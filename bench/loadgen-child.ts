import { burst, closedLoop, openLoop } from './loadgen.js';

/** node dist/bench/loadgen-child.js '{"mode":"closed"|"open"|"burst", ...}' → one JSON line (a LoadReport). */
const args = JSON.parse(process.argv[2] ?? '{}');
const result =
  args.mode === 'open'
    ? await openLoop(args)
    : args.mode === 'burst'
      ? await burst(args)
      : await closedLoop(args);
console.log(JSON.stringify(result));
process.exit(0);
