/**
 * Socket activation (sd_listen_fds): listening sockets handed to mccd by systemd's mccd.socket (or any
 * tool speaking the same protocol, such as systemd-socket-activate). The socket outlives mccd, so while
 * mccd restarts the kernel keeps completing handshakes into its queue: a client connecting meanwhile
 * waits instead of being refused. Without LISTEN_FDS mccd binds its addresses itself, as it always did.
 *
 * Semantics as sd_listen_fds(3): LISTEN_PID must be this process (else the variables were meant for a
 * parent and are ignored), LISTEN_FDS counts descriptors from fd 3, LISTEN_FDNAMES optionally names them
 * (colon-separated). The variables are removed from the environment so the smbd processes mccd spawns do
 * not believe they were activated.
 */
import { closeFd, dupFd, listenerInfo } from '../native/index.js';
import { plainIp } from '../wire/ip.js';

export const SD_LISTEN_FDS_START = 3;
/** More than any node has front-door addresses; a bigger count is a broken environment, not a config. */
export const MAX_LISTEN_FDS = 64;

export interface ListenFd {
  fd: number;
  /** From LISTEN_FDNAMES; systemd names a socket unit's fds after the unit ("mccd.socket") by default. */
  name: string | undefined;
}

export type ListenFdsError = { code: 'BAD_LISTEN_FDS' | 'BAD_LISTEN_PID' | 'BAD_FDNAMES'; message: string };

export type ListenFdsParsed =
  | { ok: true; fds: ListenFd[]; reason: string }
  | { ok: false; error: ListenFdsError };

const decimal = /^[0-9]{1,10}$/;

/** The descriptors the environment hands this process, or why none (never throws). */
export function parseListenFds(env: Record<string, string | undefined>, pid: number): ListenFdsParsed {
  const listenPid = env.LISTEN_PID;
  const listenFds = env.LISTEN_FDS;
  if (listenPid === undefined || listenFds === undefined)
    return { ok: true, fds: [], reason: 'no LISTEN_PID/LISTEN_FDS in the environment' };
  if (!decimal.test(listenPid) || Number(listenPid) === 0)
    return {
      ok: false,
      error: { code: 'BAD_LISTEN_PID', message: `LISTEN_PID ${JSON.stringify(listenPid)} is not a pid` },
    };
  if (Number(listenPid) !== pid)
    return { ok: true, fds: [], reason: `LISTEN_PID ${listenPid} is not this process (${pid})` };
  if (!decimal.test(listenFds) || Number(listenFds) > MAX_LISTEN_FDS)
    return {
      ok: false,
      error: {
        code: 'BAD_LISTEN_FDS',
        message: `LISTEN_FDS ${JSON.stringify(listenFds.slice(0, 20))} is not a count in 0..${MAX_LISTEN_FDS}`,
      },
    };
  const count = Number(listenFds);
  const names = env.LISTEN_FDNAMES === undefined ? [] : env.LISTEN_FDNAMES.split(':');
  if (env.LISTEN_FDNAMES !== undefined && names.length !== count)
    return {
      ok: false,
      error: {
        code: 'BAD_FDNAMES',
        message: `LISTEN_FDNAMES names ${names.length} descriptor(s), LISTEN_FDS counts ${count}`,
      },
    };
  const fds: ListenFd[] = [];
  for (let i = 0; i < count; i++) fds.push({ fd: SD_LISTEN_FDS_START + i, name: names[i] || undefined });
  return { ok: true, fds, reason: `${count} socket(s) from the environment` };
}

/** Consumes the activation variables (sd_listen_fds' unset_environment) so children never see them. */
export function unsetListenEnv(env: Record<string, string | undefined>): void {
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
}

export interface InheritedSocket {
  /** A close-on-exec copy: spawned smbd processes must never hold the front door. */
  fd: number;
  name: string | undefined;
  address: string;
  port: number;
}

/**
 * Each inherited descriptor as a listening TCP socket with its bound address. The original fd is
 * replaced by a close-on-exec duplicate (systemd passes them without FD_CLOEXEC); descriptors that are
 * not listening stream sockets are closed and reported. Nothing is accepted here: the queue is left
 * for the front door.
 */
export function inspectListenFds(fds: ListenFd[]): {
  sockets: InheritedSocket[];
  refused: { fd: number; why: string }[];
} {
  const sockets: InheritedSocket[] = [];
  const refused: { fd: number; why: string }[] = [];
  for (const { fd, name } of fds) {
    let copy: number;
    try {
      copy = dupFd(fd);
      closeFd(fd);
    } catch (error) {
      refused.push({ fd, why: (error as Error).message });
      continue;
    }
    let why: string | undefined;
    try {
      const info = listenerInfo(copy);
      if (!info.stream || !info.listening || info.local.family === 'other')
        why = `not a listening TCP socket (${info.local.family}, ${info.stream ? 'stream' : 'not stream'}, ${info.listening ? 'listening' : 'not listening'})`;
      else sockets.push({ fd: copy, name, address: plainIp(info.local.address), port: info.local.port });
    } catch (error) {
      why = (error as Error).message;
    }
    if (why !== undefined) {
      closeFd(copy);
      refused.push({ fd, why });
    }
  }
  return { sockets, refused };
}

/** Which inherited socket serves a configured front-door address (wildcards match wildcards only). */
export function matchInherited(
  sockets: readonly InheritedSocket[],
  listen: { address: string; port: number },
): InheritedSocket | undefined {
  const want = plainIp(listen.address);
  return sockets.find((s) => s.address === want && (listen.port === 0 || s.port === listen.port));
}

export interface Activation {
  sockets: InheritedSocket[];
  /** Descriptors handed over that were not listening TCP sockets (closed). */
  refused: { fd: number; why: string }[];
  /** Why there are sockets or none, for the start-up log line. */
  reason: string;
  error?: ListenFdsError;
}

/** Takes what socket activation handed this process (once, at start): sockets, and the variables gone. */
export function takeListenSockets(
  env: Record<string, string | undefined> = process.env,
  pid = process.pid,
): Activation {
  const parsed = parseListenFds(env, pid);
  unsetListenEnv(env);
  if (!parsed.ok) return { sockets: [], refused: [], reason: parsed.error.message, error: parsed.error };
  return { ...inspectListenFds(parsed.fds), reason: parsed.reason };
}

/**
 * Hands each configured address its inherited socket (once), and afterwards says what happened: one
 * line for what was adopted and bound, one error for sockets no configured address wanted (closed: the
 * socket unit and the config disagree, and serving an address the config does not name would hide it).
 */
export class InheritedSockets {
  private readonly used = new Set<InheritedSocket>();

  constructor(private readonly activation: Activation | undefined) {}

  /** Whether any socket was handed over (the front door then has a queue that outlived mccd). */
  get any(): boolean {
    return (this.activation?.sockets.length ?? 0) > 0;
  }

  fdFor(l: { address: string; port: number }): number | undefined {
    const free = (this.activation?.sockets ?? []).filter((s) => !this.used.has(s));
    const s = matchInherited(free, l);
    if (!s) return undefined;
    this.used.add(s);
    return s.fd;
  }

  /** Closes what no address took; returns the log fields and problems for the start-up report. */
  settle(): { adopted: string[]; unused: string[]; refused: string[]; reason: string; error?: string } {
    const label = (s: InheritedSocket) => `${s.address}:${s.port}${s.name ? ` (${s.name})` : ''}`;
    const unused: string[] = [];
    for (const s of this.activation?.sockets ?? []) {
      if (this.used.has(s)) continue;
      unused.push(label(s));
      closeFd(s.fd);
    }
    return {
      adopted: [...this.used].map(label),
      unused,
      refused: (this.activation?.refused ?? []).map((r) => `fd ${r.fd}: ${r.why}`),
      reason: this.activation?.reason ?? 'not socket-activated',
      ...(this.activation?.error ? { error: this.activation.error.message } : {}),
    };
  }
}
