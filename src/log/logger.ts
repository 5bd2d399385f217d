import pino from 'pino';
import { maskSecrets } from '../config/secrets.js';
import { isJournalStream, priorityPrefix } from './journal.js';

export type Logger = pino.Logger;

/**
 * Structured JSON to stdout (journald keeps one line per event); human-readable when stdout is a terminal.
 * AVSCENE_LOG_FORMAT=json|pretty overrides the terminal check. Every line has its URL and pipeline passwords masked,
 * whatever part of the code logged them. Under systemd each JSON line starts with its syslog priority (`<3>{"level":50…`),
 * which journald strips and keeps as the entry's PRIORITY (journal.ts).
 */
export function createLogger(level: string, name = 'avscene', fd: 1 | 2 = 1): Logger {
  const stream = fd === 1 ? process.stdout : process.stderr;
  const format = process.env.AVSCENE_LOG_FORMAT ?? (stream.isTTY ? 'pretty' : 'json');
  if (format === 'pretty') {
    const hooks = { streamWrite: maskSecrets };
    return pino({
      name,
      level,
      hooks,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,name' },
      },
    });
  }
  const journal = isJournalStream(fd);
  const hooks = { streamWrite: (line: string) => (journal ? priorityPrefix(line) : '') + maskSecrets(line) };
  return pino({ name, level, base: { name }, hooks }, pino.destination({ dest: fd, sync: true }));
}
