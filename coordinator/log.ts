/**
 * mccd's log: one JSON line per event on stderr (stdout stays free for command output), as journald and
 * log shippers expect; pino-pretty's coloured lines instead when a person watches stderr on a terminal.
 */
import pino from 'pino';
import pretty from 'pino-pretty';

export function createLogger(level: string, name = 'mccd', human = process.stderr.isTTY === true) {
  const destination = human
    ? pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l' })
    : pino.destination({ dest: 2, sync: true });
  return pino({ name, level, base: { pid: process.pid } }, destination);
}

export type Logger = ReturnType<typeof createLogger>;
