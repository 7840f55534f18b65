/**
 * Which processes hold given sockets, by inode (inet_diag reports it; /proc/PID/fd links name it as
 * `socket:[INODE]`). How a restarted mccd finds the smbd serving a connection it recorded: smbd has no
 * API to ask, but its sockets say who it serves.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface SocketHolder {
  pid: number;
  /** The process name (/proc/PID/comm), e.g. "smbd". */
  comm: string;
}

/** Holders of the wanted inodes; an inode no readable process holds is absent from the answer. */
export function socketHolders(inodes: Iterable<number>, proc = '/proc'): Map<number, SocketHolder> {
  const wanted = new Set(inodes);
  const found = new Map<number, SocketHolder>();
  if (wanted.size === 0) return found;
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((d) => /^[0-9]+$/.test(d));
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${proc}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m) continue;
      const inode = Number(m[1]);
      if (!wanted.has(inode) || found.has(inode)) continue;
      found.set(inode, { pid: Number(pid), comm: comm(proc, pid) });
    }
    if (found.size === wanted.size) break;
  }
  return found;
}

function comm(proc: string, pid: string): string {
  try {
    return readFileSync(`${proc}/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
