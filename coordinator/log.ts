import pino from 'pino';

/** One JSON line per event on stderr (stdout stays free for command output), as journald expects. */
export function createLogger(level: string, name = 'mccd') {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

export type Logger = ReturnType<typeof createLogger>;
