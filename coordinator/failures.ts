/**
 * Work nothing waits for (a broadcast to the other nodes, a public IP refresh, a reply) must not fail
 * silently: each failure is logged once with what failed and counted by operation.
 */
import { EventTally } from './event-tally.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/**
 * A `.catch` handler for `operation`; `level` is 'debug' where failing is expected (an IP already gone),
 * 'error' where a client's rules could not be carried out.
 */
export type ReportFailure = (
  operation: string,
  fields?: Record<string, unknown>,
  level?: 'debug' | 'warn' | 'error',
) => (error: unknown) => void;

export function failureReporter(log: Logger, metrics: Metrics): ReportFailure {
  return (operation, fields = {}, level = 'warn') =>
    (error) => {
      metrics.backgroundFailures.inc({ operation });
      const err = error instanceof Error ? error.message : String(error);
      log[level]({ ...fields, operation, err }, `${operation} failed: ${err}`);
    };
}

/**
 * A failed accept on one of mccd's listeners (EMFILE, ENFILE, ENOBUFS): counted by listener and code,
 * logged as one line per code per interval however fast it repeats (a flood makes it repeat thousands of
 * times a second). The listener itself backs off and goes on; it never takes mccd down.
 */
export type ReportAcceptError = (e: { listener: string; code: string; message: string }) => void;

export function acceptErrorReporter(log: Logger, metrics: Metrics): ReportAcceptError {
  const tally = new EventTally(log, { what: 'accepts failed', level: 'warn' });
  return (e) => {
    metrics.acceptErrors.inc({ listener: e.listener, code: e.code });
    tally.note(
      `${e.listener} ${e.code}`,
      { listener: e.listener, code: e.code },
      `accept on the ${e.listener} listener failed (${e.message}); backing off, still listening`,
    );
  };
}
