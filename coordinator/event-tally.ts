/**
 * Events an outsider can cause at will (refused connections, bad worker messages) must not turn the log
 * into a flood channel: the first event of each reason in an interval gets its own line, the rest are
 * only counted, and one summary line per interval gives the counts by reason.
 */
import type { Logger } from './log.js';

export interface EventTallyOptions {
  /** What is counted, for the summary line: "refused connections". */
  what: string;
  level: 'info' | 'warn';
  intervalMs?: number;
}

export class EventTally {
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: EventTallyOptions,
  ) {}

  note(reason: string, fields: Record<string, unknown>, message: string): void {
    const seen = this.counts.get(reason) ?? 0;
    this.counts.set(reason, seen + 1);
    if (seen === 0) this.log[this.options.level]({ ...fields, reason }, message);
    // Unref'd: a quiet mccd must be able to exit with a summary still pending.
    this.timer ??= setTimeout(() => this.flush(), this.options.intervalMs ?? 10_000).unref();
  }

  /** Logs the summary of the interval, if anything went unlogged in it. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const counts = Object.fromEntries(this.counts);
    const total = [...this.counts.values()].reduce((a, b) => a + b, 0);
    this.counts.clear();
    if (total <= Object.keys(counts).length) return;
    const seconds = Math.round((this.options.intervalMs ?? 10_000) / 1000);
    const byReason = Object.entries(counts)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    this.log[this.options.level](
      { counts, total },
      `${total} ${this.options.what} in the last ${seconds} s (${byReason}); only the first of each reason was logged`,
    );
  }
}
