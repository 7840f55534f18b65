/**
 * Unix socket paths are trusted only as far as the directories leading to them: whoever can write to one
 * of them can put their own socket (or a symlink) in mccd's place, and capture what an operator or a
 * worker sends. Both ends check, mccd before it listens and the CLI before it connects.
 */
import { lstatSync, mkdirSync, realpathSync, type Stats, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class SocketPathError extends Error {
  override readonly name = 'SocketPathError';
}

/** root and this process's uid: nobody else may own a directory on the way to one of our sockets. */
export function trustedUids(): number[] {
  const own = process.getuid?.() ?? 0;
  return own === 0 ? [0] : [0, own];
}

const STICKY = 0o1000;

function describeUnsafe(st: Stats, path: string, trusted: number[], isParent: boolean): string | undefined {
  if (!st.isDirectory()) return `${path} is not a directory`;
  if (!trusted.includes(st.uid))
    return `${path} is owned by uid ${st.uid} (expected ${trusted.join(' or ')})`;
  // A sticky world-writable directory (/tmp) lets nobody rename or remove what others own, so it is
  // fine on the way; the socket's own directory must not let anyone else create files at all.
  const writable = st.mode & 0o022;
  if (writable && (!isParent || !(st.mode & STICKY)))
    return `${path} is ${st.mode & 0o002 ? 'world' : 'group'}-writable (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** Throws naming `key` when `dir` or a directory above it could be replaced by an untrusted user. */
export function checkSocketDirectory(dir: string, key: string, trusted = trustedUids()): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (error) {
    throw new SocketPathError(`${key}: directory ${dir}: ${(error as NodeJS.ErrnoException).code}`);
  }
  for (let p = real, isParent = false; ; p = dirname(p), isParent = true) {
    const problem = describeUnsafe(lstatSync(p), p, trusted, isParent);
    if (problem)
      throw new SocketPathError(
        `${key}: ${problem}; the socket directory and every directory above it must be owned by root (or mccd's user) and writable by nobody else`,
      );
    if (p === '/') return;
  }
}

/**
 * mccd's side, before it listens on `path`: the directory exists (created 0700) and is safe, and the
 * path is free or a stale socket. Anything else there (a symlink, a file) is refused, never followed.
 */
export function prepareSocketPath(path: string, key: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  checkSocketDirectory(dirname(path), key);
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket())
    throw new SocketPathError(`${key}: ${path} exists and is not a socket; not touching it`);
  unlinkSync(path);
}

/** The CLI's side, before it connects: a safe directory and a socket owned by root or us. */
export function checkSocketToConnect(path: string, key: string): void {
  const dir = dirname(resolve(path));
  checkSocketDirectory(dir, key);
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there: connecting fails with its own clear error
  }
  const trusted = trustedUids();
  if (!st.isSocket()) throw new SocketPathError(`${key}: ${path} is not a socket`);
  if (!trusted.includes(st.uid))
    throw new SocketPathError(
      `${key}: ${path} is owned by uid ${st.uid}, not by root or you: not talking to it`,
    );
}

/** Runs `bind` with a umask that leaves only the owner's bits: the socket never exists with a wider mode. */
export function withOwnerOnlyUmask<T>(bind: () => T): T {
  const old = process.umask(0o177);
  try {
    return bind();
  } finally {
    process.umask(old);
  }
}
