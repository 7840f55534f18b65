import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { addon, nativeBuildFile } from '../../native/addon.js';
import { closeFd, SeqpacketCarrier } from '../../native/index.js';

/**
 * smbd processes started ahead of time in inetd mode, each fully initialised and waiting in its first
 * dup(0) (native/preload/mcc_inetd_preload.c) for the client socket mccd sends over the SEQPACKET carrier
 * that is its fd 0. Taking a member skips the exec and initialisation (~25 ms CPU per connection).
 */
export interface SmbdPoolOptions {
  smbdPath: string;
  configFile: string;
  logDir: string;
  extraArgs: string[];
  size: number;
  /** A member not ready within this long is killed and replaced. */
  startupTimeoutMs: number;
}

const REFILL_QUIET_MS = 250;

interface Member {
  child: ChildProcess;
  carrier: SeqpacketCarrier;
  ready: boolean;
  timer: NodeJS.Timeout;
}

export class SmbdPool extends EventEmitter<{ 'member-failed': [string] }> {
  private readonly members = new Set<Member>();
  private stopped = false;
  readonly preload: string;
  /** Members killed because they did not get ready in time (or died starting). */
  failedStarts = 0;

  constructor(private readonly options: SmbdPoolOptions) {
    super();
    const preload = nativeBuildFile('mcc_inetd_preload.so');
    if (!preload)
      throw new Error('native/build/Release/mcc_inetd_preload.so is not built: run "npm run build:native"');
    this.preload = preload;
  }

  start(): void {
    this.refill();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.refillTimer);
    for (const m of this.members) this.discard(m, 'SIGTERM');
  }

  readyCount(): number {
    let n = 0;
    for (const m of this.members) if (m.ready) n++;
    return n;
  }

  /** Gives the connection fd to a ready member; false when none is ready (the caller spawns instead). */
  async handOff(fd: number): Promise<{ pid: number } | undefined> {
    for (const m of this.members) {
      if (!m.ready) continue;
      this.members.delete(m);
      clearTimeout(m.timer);
      try {
        await m.carrier.send(Buffer.from('C'), [fd]);
      } catch {
        this.discard(m, 'SIGKILL');
        continue;
      } finally {
        this.scheduleRefill();
      }
      // The member closes the carrier by putting the client socket on fd 0; it now lives on its own.
      m.carrier.once('close', () => undefined);
      return { pid: m.child.pid! };
    }
    return undefined;
  }

  private refillTimer: NodeJS.Timeout | undefined;

  /**
   * Replacements wait until takes pause: during a reconnect storm each refill is an exec (~25 ms CPU)
   * competing with the members serving the storm.
   */
  private scheduleRefill(): void {
    clearTimeout(this.refillTimer);
    this.refillTimer = setTimeout(() => this.refill(), REFILL_QUIET_MS);
    this.refillTimer.unref();
  }

  private refill(): void {
    while (!this.stopped && this.members.size < this.options.size) this.spawnMember();
  }

  private spawnMember(): void {
    const [ours, theirs] = addon.seqpacketPair();
    const log = openSync(join(this.options.logDir, 'smbd-pool.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.options.smbdPath, ['-i', '-s', this.options.configFile, ...this.options.extraArgs], {
        stdio: [theirs, log, log],
        detached: true, // its own session: an exiting smbd signals its whole group
        env: { ...process.env, LD_PRELOAD: this.preload, MCC_INETD_HANDOFF: '1' },
      });
    } finally {
      closeSync(log);
      closeFd(theirs);
    }
    child.unref();
    const carrier = new SeqpacketCarrier(ours, { maxBytes: 64, maxFds: 1 });
    carrier.unref();
    const member: Member = {
      child,
      carrier,
      ready: false,
      timer: setTimeout(() => {
        this.failedStarts++;
        this.emit('member-failed', `smbd ${child.pid} not ready within ${this.options.startupTimeoutMs} ms`);
        this.discard(member, 'SIGKILL');
        this.refill();
      }, this.options.startupTimeoutMs),
    };
    member.timer.unref();
    this.members.add(member);
    carrier.on('message', ({ data, fds }) => {
      for (const f of fds) closeFd(f);
      if (data.toString() === 'R') {
        member.ready = true;
        clearTimeout(member.timer);
      }
    });
    carrier.on('close', () => {
      if (this.members.delete(member)) {
        // Closed while waiting in the pool: it died (or a health check killed it).
        clearTimeout(member.timer);
        this.failedStarts++;
        this.emit('member-failed', `smbd ${child.pid} exited before taking a client`);
        if (!this.stopped) setTimeout(() => this.refill(), 200).unref();
      }
    });
  }

  private discard(m: Member, signal: NodeJS.Signals): void {
    this.members.delete(m);
    clearTimeout(m.timer);
    try {
      process.kill(-m.child.pid!, signal);
    } catch {
      // gone
    }
    m.carrier.close();
  }
}
