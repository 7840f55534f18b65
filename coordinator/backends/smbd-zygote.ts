/**
 * One `smbd -i` turned into a zygote by the preload (native/preload/mcc_inetd_preload.c, inert without
 * MCC_INETD_HANDOFF=zygote): once smbd has initialised it says 'Z' over its fd 0 carrier, then forks a
 * member for each 'F' order (which carries the member's carrier end) and answers each order in turn with
 * 'P' + pid or 'E' + errno. This module is that conversation and the process; when to start, replace or
 * order is SmbdPool's policy.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { addon } from '../../native/addon.js';
import { closeFd, SeqpacketCarrier } from '../../native/index.js';

export interface SmbdZygoteOptions {
  smbdPath: string;
  configFile: string;
  logDir: string;
  extraArgs: string[];
  preload: string;
}

export class SmbdZygote<Order> extends EventEmitter<{
  ready: [];
  forked: [Order, number];
  'fork-failed': [Order, number];
  exit: [];
}> {
  ready = false;
  private readonly child: ChildProcess;
  private readonly carrier: SeqpacketCarrier;
  /** Orders sent and not yet answered, in order: the zygote answers them in the order it got them. */
  private readonly ordered: Order[] = [];

  constructor(options: SmbdZygoteOptions) {
    super();
    const [ours, theirs] = addon.seqpacketPair();
    const log = openSync(join(options.logDir, 'smbd-pool.log'), 'a');
    try {
      this.child = spawn(options.smbdPath, ['-i', '-s', options.configFile, ...options.extraArgs], {
        stdio: [theirs, log, log],
        detached: true, // its own session: an exiting smbd signals its whole group
        env: { ...process.env, LD_PRELOAD: options.preload, MCC_INETD_HANDOFF: 'zygote' },
      });
    } finally {
      closeSync(log);
      closeFd(theirs);
    }
    // A missing or failing binary shows as the carrier closing, which is where the pool hears of it.
    this.child.on('error', () => undefined);
    this.child.unref();
    this.carrier = new SeqpacketCarrier(ours, { maxBytes: 64, maxFds: 1 });
    this.carrier.unref();
    this.carrier.on('message', ({ data, fds }) => {
      for (const f of fds) closeFd(f);
      this.onMessage(data);
    });
    this.carrier.on('close', () => this.emit('exit'));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Asks for one member, which will serve on the carrier whose other end is `memberEnd`. */
  order(order: Order, memberEnd: number): Promise<void> {
    this.ordered.push(order);
    return this.carrier.send(FORK, [memberEnd]);
  }

  /**
   * SIGKILL: smbd catches SIGTERM in its event loop, which a zygote waiting for orders never runs.
   * Members already forked live on; orders it never answered close their carriers.
   */
  kill(): void {
    killProcess(this.child.pid);
    this.carrier.close();
  }

  private onMessage(data: Buffer): void {
    const tag = String.fromCharCode(data[0] ?? 0);
    if (tag === 'Z') {
      this.ready = true;
      this.emit('ready');
    } else if ((tag === 'P' || tag === 'E') && data.length === 5) {
      const order = this.ordered.shift();
      if (order === undefined) return;
      if (tag === 'P') this.emit('forked', order, data.readInt32LE(1));
      else this.emit('fork-failed', order, data.readInt32LE(1));
    }
  }
}

/** The fork order's one byte: sent, never changed (one per connection the pool hands off). */
const FORK = Buffer.from('F');

export function killProcess(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone: what the kill was for
  }
}
