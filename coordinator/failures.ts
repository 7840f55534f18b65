/**
 * Work nothing waits for (a broadcast to the other nodes, a public IP refresh, a reply) must not fail
 * silently: each failure is logged once with what failed and counted by operation.
 */
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
