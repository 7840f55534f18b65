import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The raw addon surface (see native/src/*.cc). Callers use the typed wrappers in this folder. */
export interface RawAddon {
  abiVersion: number;
  seqpacketPair(): [number, number];
  seqpacketListen(path: string, backlog: number, mode: number): number;
  seqpacketAccept(fd: number): number;
  seqpacketConnect(path: string): number;
  sendFds(fd: number, bytes: Uint8Array, fds?: number[]): number;
  recvFds(
    fd: number,
    maxBytes?: number,
    maxFds?: number,
  ): { data: Buffer; fds: number[]; eof: boolean } | null;
  closeFd(fd: number): void;
  dupFd(fd: number): number;
  fdSetCreate(): number;
  fdSetAdd(set: number, fd: number): void;
  fdSetCloseFd(set: number, fd: number): void;
  fdSetReady(set: number, max: number): Int32Array;
  peek(fd: number, maxBytes: number): Buffer | null;
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  tcpInfo(fd: number): Record<string, number>;
  tcpState(fd: number): number;
  outq(fd: number): number;
  outqNotSent(fd: number): number;
  socketAddresses(fd: number): { local: RawAddress; remote: RawAddress };
  listenerInfo(fd: number): { local: RawAddress; stream: boolean; listening: boolean };
  shutdownFd(fd: number): void;
  setDeferAccept(fd: number, seconds: number): void;
  destroySockets(tuples: SocketTuple[]): number[];
  listTcpSockets(
    family: 'ipv4' | 'ipv6',
    localPort: number,
    states: number,
    withInfo?: boolean,
  ): RawDiagSocket[];
  FdWatcher: new (
    fd: number,
    callback: (error: string | null, readable: boolean, writable: boolean) => void,
  ) => RawFdWatcher;
  Acceptor: new (options: RawAcceptorOptions, callback: (reports: AcceptReport[]) => void) => RawAcceptor;
  listenTcp(address: string, port: number, backlog: number, reusePort?: boolean): number;
  relisten(fd: number, backlog: number): void;
  memfdCreate(name: string, size: number): number;
  mapShared(fd: number): ArrayBuffer;
  fdSize(fd: number): number;
  smbdirectTry(
    family: number,
    type: number,
    protocol: number,
  ): { ok: boolean; errno: number; code: string; message?: string };
}

export interface RawAddress {
  family: 'ipv4' | 'ipv6' | 'other';
  address: string;
  port: number;
  scopeId?: number;
}

export interface SocketTuple {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface RawDiagSocket extends SocketTuple {
  state: number;
  uid: number;
  inode: number;
  recvQ: number;
  sendQ: number;
  /** With withInfo: from the socket's tcp_info. */
  rttUs?: number;
  bytesAcked?: number;
  bytesReceived?: number;
  unacked?: number;
}

export interface RawFdWatcher {
  start(events: 1 | 2 | 3): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

export interface RawAcceptorOptions {
  maxBytes: number;
  deadlineMs: number;
  maxPending: number;
  maxPendingPerAddress: number;
  /** 0: no limit known. */
  fdLimit: number;
}

export interface AcceptEndpoints {
  local: { address: string; port: number };
  remote: { address: string; port: number };
  acceptedAt: number;
}

/** What the acceptor is done with; every kind but `ready` is already closed. Built so by the addon. */
export type AcceptReport =
  | (AcceptEndpoints & { kind: 'ready'; fd: number; bytes: Buffer; code?: string })
  | (AcceptEndpoints & { kind: 'eof' | 'timeout'; bytes: Buffer; detail: string; code?: string })
  | (AcceptEndpoints & { kind: 'shed' | 'error'; detail: string; code?: string })
  | { kind: 'accept-error'; listener: string; code: string; detail: string };

export interface RawAcceptor {
  listen(fd: number, label: string): void;
  pending(): number;
  closePendingTo(localAddress: string): Omit<AcceptEndpoints, 'acceptedAt'>[];
  close(): void;
}

/** Must equal kAbiVersion in native/src/addon.cc. */
export const EXPECTED_ABI_VERSION = 6;

function findNativeDir(): string {
  // This file lives at native/addon.ts in the source tree and at dist/native/addon.js once built.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'native', 'binding.gyp'))) return join(dir, 'native');
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`mcc native addon: cannot find native/binding.gyp above ${fileURLToPath(import.meta.url)}`);
}

/** A file built next to the addon (e.g. the smbd preload library); undefined when not built. */
export function nativeBuildFile(name: string): string | undefined {
  const p = join(findNativeDir(), 'build', 'Release', name);
  return existsSync(p) ? p : undefined;
}

function load(): RawAddon {
  const nativeDir = findNativeDir();
  const built = join(nativeDir, 'build', 'Release', 'mcc_native.node');
  if (!existsSync(built)) {
    throw new Error(`mcc native addon is not built (${built} is missing): run "npm run build:native"`);
  }
  // Every source beside the addon: a list kept by hand here missed new files.
  const srcDir = join(nativeDir, 'src');
  const sources = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => /\.(cc|h)$/.test(f)) : [];
  const builtAt = statSync(built).mtimeMs;
  const newer = sources.filter((s) => {
    const p = join(nativeDir, 'src', s);
    return existsSync(p) && statSync(p).mtimeMs > builtAt;
  });
  if (newer.length > 0) {
    throw new Error(
      `mcc native addon is stale (${newer.join(', ')} changed after the build): run "npm run build:native"`,
    );
  }
  const addon = createRequire(import.meta.url)(built) as RawAddon;
  if (addon.abiVersion !== EXPECTED_ABI_VERSION) {
    throw new Error(
      `mcc native addon is stale (abi ${addon.abiVersion}, this code needs ${EXPECTED_ABI_VERSION}): run "npm run build:native"`,
    );
  }
  return addon;
}

export const addon: RawAddon = load();
