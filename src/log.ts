import pino from 'pino';
import type { Logger } from 'pino';

/** How the runtime writes its lines: pino JSON, or pino-pretty's one line per event for people. */
export type LogFormat = 'pretty' | 'json';

/**
 * The runtime's logger on stdout. Every line the runtime writes goes through it, a handler's
 * included (the executors forward them), so one format holds whatever the source. Pretty lines
 * keep an event on one line (the fields after the message; a stack still takes its own lines)
 * and leave out pid and hostname, which are the same on every line of a terminal.
 */
export function createLogger(level: string, format: LogFormat): Logger {
  if (format === 'pretty') {
    return pino({ level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', singleLine: true, ignore: 'pid,hostname' } } });
  }
  return pino({ level });
}
