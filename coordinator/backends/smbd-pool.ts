import { EventEmitter } from 'node:events';
import { nativeBuildFile } from '../../native/addon.js';
import { closeFd } from '../../native/index.js';
import { type CarrierEnd, MemberCarriers } from './member-carriers.js';
import { killProcess, SmbdZygote } from './smbd-zygote.js';
import { StartupDeadlines } from './startup-deadlines.js';

/**
 * smbd processes ready ahead of time, each waiting in inetd mode's dup(0) for the client socket mccd sends
 * over the SEQPACKET carrier that is its fd 0 (native/preload/mcc_inetd_preload.c).
 *
 * One `smbd -i` is exec'd and initialised once and becomes a zygote; members are forked from it and
 * re-initialised as smbd's own daemon does for the child it forks per connection. A member costs a fork,
 * not an exec plus smbd's start-up (~25 ms of CPU), so the pool refills as fast as a storm drains it.
 */
export interface SmbdPoolOptions {
  smbdPath: string;
  configFile: string;
  logDir: string;
  extraArgs: string[];
  size: number;
  /** A zygote or member not ready within this long is killed and replaced. */
  startupTimeoutMs: number;
  /** How long the pool may ready no member while connections wait, before they go to a spawn instead. */
  waitMs?: number;
  /** Connections waiting for a member at most; beyond it the oldest is shed (limits.maxWaitingForOwner). */
  maxWaiting?: number;
}

/** What became of a connection offered to the pool: a member took it, none came, or it was not served. */
export type PoolOutcome =
  | { kind: 'taken'; pid: number | undefined }
  | { kind: 'no-member' }
  /** The client left while it waited (checked before a member is spent on it). */
  | { kind: 'gone' }
  /** Shed at the queue's bound: the oldest waiter goes first. */
  | { kind: 'shed' };

const DEFAULT_WAIT_MS = 1000;
const DEFAULT_MAX_WAITING = 4096;
/**
 * The queue is standing once it has not been empty for this long (CoDel's interval, as in Facebook's
 * "Fail at Scale"): from then on the newest waiter is served first (adaptive LIFO), because under
 * overload the oldest are the likeliest to have given up, and serving them first makes everyone late.
 */
const STANDING_MS = 100;
/** While the pool readies nothing, at most one waiter per this long goes to an exec'd `smbd -i`. */
const FALLBACK_SPACING_MS = 100;
const ZYGOTE_RESTART_MS = 200;
/** Restarts back off up to this while zygotes keep failing (e.g. another smbd holds the notify daemon name). */
const ZYGOTE_RESTART_MAX_MS = 5000;

interface Zygote {
  process: SmbdZygote<Member>;
  timer: NodeJS.Timeout;
}

/** `fd`: mccd's end of the member's SEQPACKET carrier (the other end is the member's fd 0). */
interface Member extends CarrierEnd {
  pid: number | undefined;
  ready: boolean;
}

type Waiter = {
  take: (m: Member | 'no-member' | 'gone' | 'shed') => void;
  timer: NodeJS.Timeout | undefined;
  wanted: () => boolean;
};

export interface SmbdPoolEvents {
  'member-failed': [string];
  paused: [{ reason: string; idleMembersKilled: number }];
}

export class SmbdPool extends EventEmitter<SmbdPoolEvents> {
  private readonly members = new Set<Member>();
  private readonly carriers: MemberCarriers<Member>;
  /** Members not yet ready: killed and replaced when not ready within startupTimeoutMs. */
  private readonly starting: StartupDeadlines<Member>;
  private readonly waiters: Waiter[] = [];
  private zygote: Zygote | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** When the pool last showed it can serve: started, or a zygote or member got ready. */
  private lastProgressAt = 0;
  private restartDelayMs = ZYGOTE_RESTART_MS;
  private stopped = false;
  private paused = false;
  /** When the wait queue was last empty (it is standing once this is STANDING_MS old). */
  private lastEmptyAt = Date.now();
  private lastFallbackAt = 0;
  readonly preload: string;
  /** Zygotes and members killed because they did not get ready in time, or died before taking a client. */
  failedStarts = 0;
  zygoteStarts = 0;

  constructor(private readonly options: SmbdPoolOptions) {
    super();
    const preload = nativeBuildFile('mcc_inetd_preload.so');
    if (!preload)
      throw new Error('native/build/Release/mcc_inetd_preload.so is not built: run "npm run build:native"');
    this.preload = preload;
    this.carriers = new MemberCarriers<Member>(
      (m) => this.memberReady(m),
      (m) => {
        if (!this.members.delete(m)) return;
        // Closed while waiting in the pool: it died, or its zygote did before forking it.
        this.failed(`smbd member ${m.pid ?? '(no pid yet)'} exited before taking a client`);
        setTimeout(() => this.refill(), ZYGOTE_RESTART_MS).unref();
      },
    );
    this.starting = new StartupDeadlines(
      options.startupTimeoutMs,
      (m) => !m.ready && this.members.has(m),
      (late) => {
        for (const m of late) {
          this.failed(
            `smbd member ${m.pid ?? '(no pid yet)'} not ready within ${options.startupTimeoutMs} ms`,
          );
          this.discard(m);
        }
        this.refill();
      },
    );
  }

  start(): void {
    this.lastProgressAt = Date.now();
    this.startZygote();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.starting.clear();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.take('no-member');
    }
    if (this.zygote) this.discardZygote(this.zygote);
    for (const m of [...this.members]) this.discard(m);
    this.carriers.stop();
  }

  /**
   * Stops keeping members ready and kills the zygote and every idle member (members serving clients go
   * on): with `clustering = yes` they hold a connection to a ctdbd that is gone, and would fail their
   * first client ("cluster dispatch daemon msg write error"). Connections meanwhile go to a spawn.
   */
  pause(reason: string): void {
    if (this.stopped || this.paused) return;
    this.paused = true;
    clearTimeout(this.restartTimer);
    this.starting.clear();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.take('no-member');
    }
    const idle = this.members.size;
    if (this.zygote) this.discardZygote(this.zygote);
    for (const m of [...this.members]) this.discard(m);
    this.emit('paused', { reason, idleMembersKilled: idle });
  }

  /** Starts a fresh zygote (and so fresh members) after pause(). */
  resume(): void {
    if (this.stopped || !this.paused) return;
    this.paused = false;
    this.restartDelayMs = ZYGOTE_RESTART_MS;
    this.lastProgressAt = Date.now();
    if (!this.zygote) this.startZygote();
  }

  /** Members kept ready; 0 is spawn mode, where the zygote only holds the notify daemon name. */
  get size(): number {
    return this.options.size;
  }

  isPaused(): boolean {
    return this.paused;
  }

  readyCount(): number {
    let n = 0;
    for (const m of this.members) if (m.ready) n++;
    return n;
  }

  /** Connections waiting for a member now. */
  waitingCount(): number {
    return this.waiters.length;
  }

  zygotePid(): number | undefined {
    return this.zygote?.process.ready ? this.zygote.process.pid : undefined;
  }

  /**
   * Gives the connection fd to a ready member, waiting for one on its way. `wanted` says whether the
   * client is still there: checked before a member is spent on it, so under overload no member serves a
   * client that already gave up.
   */
  async handOff(fd: number, wanted: () => boolean = () => true): Promise<PoolOutcome> {
    for (;;) {
      // The client is checked once before a member is spent on it: here when one is ready at once
      // (nothing runs in between), else before it queues (waitForMember).
      const m = this.takeReady() ?? (await this.waitForMember(wanted));
      if (typeof m === 'string') return { kind: m };
      if (!wanted()) {
        this.giveBack(m);
        return { kind: 'gone' };
      }
      if (!this.carriers.sendClient(m, fd)) {
        this.discard(m);
        continue;
      }
      return { kind: 'taken', pid: m.pid };
    }
  }

  /** A ready member whose connection went away before it got it: to the next waiter, or back to the pool. */
  private giveBack(m: Member): void {
    const w = this.nextWaiter();
    if (w) {
      clearTimeout(w.timer);
      w.take(m);
      return;
    }
    this.members.add(m);
  }

  /**
   * The waiter a ready member goes to: waiters whose client left are let go first; then the oldest while
   * the queue keeps emptying, the newest once it is standing (adaptive LIFO).
   */
  private nextWaiter(): Waiter | undefined {
    const standing = Date.now() - this.lastEmptyAt >= STANDING_MS;
    while (this.waiters.length > 0) {
      const w = (standing ? this.waiters.pop() : this.waiters.shift())!;
      if (this.waiters.length === 0) this.lastEmptyAt = Date.now();
      if (w.wanted()) return w;
      clearTimeout(w.timer);
      w.take('gone');
    }
    return undefined;
  }

  private takeReady(): Member | undefined {
    for (const m of this.members) if (m.ready) return this.take(m);
    return undefined;
  }

  /** Out of the pool (it is about to get a client), with a replacement ordered at once. */
  private take(m: Member): Member {
    this.members.delete(m);
    this.refill();
    return m;
  }

  /**
   * Waits while the pool makes progress: a storm larger than the pool is served in fork order, and
   * connections arriving while the zygote (re)starts wait for it. Only a pool that readied nothing for
   * `waitMs` (zygote wedged or failing) sends the connection to a spawn instead: a spawned `smbd -i` takes
   * the notify daemon name if it is free, which keeps the next zygote from starting until it exits.
   */
  private waitForMember(wanted: () => boolean): Promise<Member | 'no-member' | 'gone' | 'shed'> {
    if (!wanted()) return Promise.resolve('gone');
    if (this.stopped || this.paused) return Promise.resolve('no-member');
    const waitMs = this.options.waitMs ?? DEFAULT_WAIT_MS;
    return new Promise((resolve) => {
      const waiter: Waiter = { take: resolve, timer: undefined, wanted };
      if (this.waiters.length === 0) this.lastEmptyAt = Date.now();
      this.waiters.push(waiter);
      // Each waiter holds the client's fd: at the bound the oldest goes (the likeliest to have given up).
      if (this.waiters.length > (this.options.maxWaiting ?? DEFAULT_MAX_WAITING)) {
        const oldest = this.waiters.shift()!;
        clearTimeout(oldest.timer);
        oldest.take('shed');
        if (oldest === waiter) return;
      }
      // The first check follows the one above at once (the client is not asked again), with the waiter
      // just queued.
      let first = true;
      const check = () => {
        const quiet = Date.now() - this.lastProgressAt;
        if (!first && !this.waiters.includes(waiter)) return;
        if (!first && !waiter.wanted()) {
          this.leave(waiter);
          resolve('gone');
          return;
        }
        // An exec'd smbd costs ~50 ms of CPU: while the pool readies nothing, spawn for one waiter per
        // FALLBACK_SPACING_MS at most, or a starved machine spends itself on execs.
        first = false;
        const spacing = Date.now() - this.lastFallbackAt;
        if ((quiet < waitMs || spacing < FALLBACK_SPACING_MS) && !this.stopped) {
          waiter.timer = setTimeout(check, Math.max(waitMs - quiet, FALLBACK_SPACING_MS - spacing, 10));
          return;
        }
        this.lastFallbackAt = Date.now();
        this.leave(waiter);
        resolve('no-member');
      };
      check();
    });
  }

  private leave(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
    if (this.waiters.length === 0) this.lastEmptyAt = Date.now();
  }

  private startZygote(): void {
    const smbd = new SmbdZygote<Member>({ ...this.options, preload: this.preload });
    this.zygoteStarts++;
    const zygote: Zygote = {
      process: smbd,
      timer: setTimeout(() => {
        this.failed(`smbd zygote ${smbd.pid} not ready within ${this.options.startupTimeoutMs} ms`);
        this.discardZygote(zygote);
        this.scheduleZygoteRestart();
      }, this.options.startupTimeoutMs),
    };
    zygote.timer.unref();
    this.zygote = zygote;
    smbd.on('ready', () => {
      this.lastProgressAt = Date.now();
      this.restartDelayMs = ZYGOTE_RESTART_MS;
      clearTimeout(zygote.timer);
      this.refill();
    });
    smbd.on('forked', (member, pid) => {
      member.pid = pid;
    });
    smbd.on('fork-failed', (member, errno) => {
      this.failed(`smbd zygote ${smbd.pid} could not fork a member: errno ${errno}`);
      this.discard(member);
    });
    smbd.on('exit', () => {
      if (this.zygote !== zygote) return;
      this.zygote = undefined;
      clearTimeout(zygote.timer);
      if (!smbd.ready) this.failed(`smbd zygote ${smbd.pid} exited before it was ready`);
      this.scheduleZygoteRestart();
    });
  }

  private scheduleZygoteRestart(): void {
    if (this.stopped || this.paused) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped && !this.paused && !this.zygote) this.startZygote();
    }, this.restartDelayMs);
    this.restartTimer.unref();
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, ZYGOTE_RESTART_MAX_MS);
  }

  private refill(): void {
    const z = this.zygote;
    if (this.stopped || this.paused || !z?.process.ready) return;
    while (this.members.size < this.options.size) this.orderMember(z);
  }

  private orderMember(z: Zygote): void {
    const [ours, theirs] = this.carriers.pair();
    const member: Member = { fd: ours, open: true, pid: undefined, ready: false };
    this.carriers.add(member);
    this.members.add(member);
    this.starting.add(member);
    // The member's end stays open until the order is sent (at once, unless the zygote's carrier is full).
    z.process.order(member, theirs).then(
      () => closeFd(theirs),
      () => {
        this.discard(member);
        closeFd(theirs);
      },
    );
  }

  private memberReady(member: Member): void {
    if (!this.members.has(member)) return;
    member.ready = true;
    this.lastProgressAt = Date.now();
    this.starting.prune();
    const w = this.nextWaiter();
    if (w) {
      clearTimeout(w.timer);
      w.take(this.take(member));
    }
  }

  private failed(reason: string): void {
    this.failedStarts++;
    this.emit('member-failed', reason);
  }

  private discard(m: Member): void {
    this.members.delete(m);
    killProcess(m.pid);
    this.carriers.close(m);
  }

  private discardZygote(z: Zygote): void {
    if (this.zygote === z) this.zygote = undefined;
    clearTimeout(z.timer);
    z.process.kill();
  }
}
