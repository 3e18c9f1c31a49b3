import pino from 'pino';
import type { Logger } from 'pino';

/** The runtime's logger: pino JSON lines on stdout, pretty when stdout is a terminal. */
export function createLogger(level: string): Logger {
  if (process.stdout.isTTY) {
    return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino({ level });
}
