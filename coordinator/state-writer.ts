/**
 * Keeps the state file current: whenever the registry changed, at most every `intervalMs` (and never
 * two writes at once: a slow write stretches the interval instead of piling up). A kill -9 loses at most
 * the changes of the last interval; docs/restart.md says what reconcile makes of that.
 */
import type { ClientRegistry } from '../statecharts/registry.js';
import type { ReportFailure } from './failures.js';
import type { Logger } from './log.js';
import { STATE_FILE_VERSION, type StateFile, StateTooBig, writeStateFile } from './state-file.js';
import type { TeardownJournal } from './teardown-journal.js';

export interface StateWriterOptions {
  path: string;
  maxBytes: number;
  intervalMs: number;
  registry: ClientRegistry;
  pnn: () => number;
  backend: StateFile['backend'];
  /** Cut back once a written state covers its entries. */
  journal?: TeardownJournal;
  log: Logger;
  failed: ReportFailure;
}

const BUSY_FACTOR = 4;

export class StateWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private written = -1;
  private tooBig = false;
  /** Last successful write: bytes, clients, when (for `mcc status`). */
  last: { bytes: number; clients: number; at: number; ms: number } | undefined;

  constructor(private readonly o: StateWriterOptions) {
    this.o = { ...o };
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  /** SIGHUP: a new interval or bound applies from now on (the file's path needs a restart). */
  reconfigure(o: { intervalMs: number; maxBytes: number }): void {
    this.o.maxBytes = o.maxBytes;
    if (o.intervalMs === this.o.intervalMs) return;
    this.o.intervalMs = o.intervalMs;
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.start();
  }

  /** Stops the timer and writes what is new (graceful stop: the next mccd gets everything). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.tick(true);
  }

  private tick(force = false): Promise<void> {
    if (this.writing || this.o.registry.changes === this.written) return this.writing ?? Promise.resolve();
    const started = Date.now();
    // A big state under constant change would otherwise be rewritten back to back: at most a fifth of
    // the time goes to writing it (a write of 100 ms waits 400 ms for the next).
    if (!force && this.last && started - (this.last.at + this.last.ms) < BUSY_FACTOR * this.last.ms)
      return Promise.resolve();
    const version = this.o.registry.changes;
    const mark = this.o.journal?.mark() ?? 0;
    const state: StateFile = {
      version: STATE_FILE_VERSION,
      writtenAt: started,
      pid: process.pid,
      pnn: this.o.pnn(),
      backend: this.o.backend,
      clients: this.o.registry.records(),
    };
    this.writing = writeStateFile(this.o.path, state, this.o.maxBytes)
      .then((bytes) => {
        this.written = version;
        this.o.journal?.covered(mark);
        this.last = { bytes, clients: state.clients.length, at: started, ms: Date.now() - started };
        if (this.tooBig) this.o.log.info({ bytes }, 'state file written again');
        this.tooBig = false;
      })
      .catch((error: Error) => {
        if (error instanceof StateTooBig) {
          // Once per episode: the file keeps the last state that fitted, and a restart drops the rest.
          if (!this.tooBig)
            this.o.log.error({ err: error.message }, `state file not written: ${error.message}`);
          this.tooBig = true;
          this.written = version;
          return;
        }
        this.o.failed('state file write', { path: this.o.path })(error);
      })
      .finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }
}
