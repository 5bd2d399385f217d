import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON to stdout (journald keeps one line per event); human-readable when stdout is a terminal.
 * AVSCENE_LOG_FORMAT=json|pretty overrides the terminal check.
 */
export function createLogger(level: string, name = 'avscene', fd: 1 | 2 = 1): Logger {
  const stream = fd === 1 ? process.stdout : process.stderr;
  const format = process.env.AVSCENE_LOG_FORMAT ?? (stream.isTTY ? 'pretty' : 'json');
  if (format === 'pretty') {
    return pino({
      name,
      level,
      transport: { target: 'pino-pretty', options: { destination: fd, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,name' } },
    });
  }
  return pino({ name, level, base: { name } }, pino.destination({ dest: fd, sync: true }));
}
