import { execFileSync } from 'node:child_process';

/** Thin helpers over iproute2 for the project's own test namespaces. Nothing here touches the root namespace's links. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

export function nsExec(
  ns: string,
  command: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 20_000,
    env: options.env ?? process.env,
  });
}

export function nsPids(ns: string): number[] {
  try {
    return ip('netns', 'pids', ns)
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

export function nsExists(ns: string): boolean {
  try {
    return ip('netns', 'list')
      .split('\n')
      .some((l) => l.split(' ')[0] === ns);
  } catch {
    return false;
  }
}

/** Kills every process left in a namespace we created (by pid), then deletes the namespace. */
export async function deleteNamespace(ns: string): Promise<void> {
  if (!nsExists(ns)) return;
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = nsPids(ns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, attempt < 5 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    ip('netns', 'del', ns);
  } catch {
    // raced with another cleanup
  }
}

export { pidAlive } from '../../bench/procs.js';

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}

/** A short random tag for names that must be unique per run (interface names are limited to 15 bytes). */
export function runTag(): string {
  return Math.random().toString(36).slice(2, 7);
}

/** A data handler that calls `onLine` with each complete line of a child's output, however it is chunked. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk.toString();
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      onLine(line);
      i = buffer.indexOf('\n');
    }
  };
}
