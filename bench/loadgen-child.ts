import { burst, closedLoop, openLoop } from './loadgen.js';

/** node dist/bench/loadgen-child.js '{"mode":"closed"|"open"|"burst", ...}' → one JSON line (a LoadReport). */
const args = JSON.parse(process.argv[2] ?? '{}');
const result =
  args.mode === 'open'
    ? await openLoop(args)
    : args.mode === 'burst'
      ? await burst(args)
      : await closedLoop(args);
const cpu = process.cpuUsage();
// The generator's own CPU, so a caller can subtract it from what the machine spent.
console.log(JSON.stringify({ ...result, clientCpuMs: (cpu.user + cpu.system) / 1000 }));
process.exit(0);
