import type { ChildProcess } from 'node:child_process';

/** Everything a child prints on stdout and stderr, interleaved as it arrives (read with the getter). */
export function captureOutput(child: ChildProcess): () => string {
  let out = '';
  const add = (d: Buffer | string) => {
    out += d;
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}
