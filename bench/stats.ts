import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** One section of bench/RESULTS.md; the title starts with the benchmark id (B1…). */
export interface Section {
  title: string;
  lines: string[];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Runs one benchmark repetition in a fresh Node process (clean heap, --expose-gc) and parses its JSON line. */
export function runChild<T>(script: string, args: string[]): T {
  const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  const line = out.trim().split('\n').at(-1)!;
  return JSON.parse(line) as T;
}

export function machineLine(): string {
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {
    // not fatal
  }
  // The load at the start says whether other work shared the machine (the numbers are relative for that).
  const load = loadavg()[0]!.toFixed(2);
  return `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Linux ${kernel}; load average ${load} at the start`;
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

/** A target's verdict as RESULTS.md prints it: a miss stands out. */
export function verdict(met: boolean): string {
  return met ? 'met' : '**not met**';
}

/** How many connections a run completed and how many failed, as every verdict quotes them. */
export function counts(x: { ok: number; errors: number }): string {
  return `${fmt(x.ok, 0)} completed, ${fmt(x.errors, 0)} errors`;
}

/** The clock tick of /proc's CPU times: 100 on Linux, so they come in 10 ms steps. */
export const USER_HZ = 100;

/** CPU time the whole machine has spent busy (all cores, /proc/stat), in ms. */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / USER_HZ;
}

/** CPU time one process has spent (utime + stime of all its threads, not its children; /proc/PID/stat), in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces: the fields after it are counted from its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}
