/**
 * Syslog priorities for journald. A service's stdout and stderr reach the journal through a stream socket whose
 * device and inode systemd puts in $JOURNAL_STREAM; on such a stream journald reads a `<N>` prefix on each line as
 * that line's priority (sd-daemon(3)), so `journalctl -p err` finds the daemon's errors. Anywhere else (a terminal, a
 * pipe, a file) nothing is added.
 */
import { fstatSync } from 'node:fs';

/** sd-daemon's priorities for pino's levels: fatal → crit, error → err, warn → warning, info → info, debug/trace → debug. */
const PRIORITY: Readonly<Record<number, number>> = { 60: 2, 50: 3, 40: 4, 30: 6, 20: 7, 10: 7 };
const ERROR_PRIORITY = 3;

/** Whether file descriptor `fd` is the journal stream systemd connected ($JOURNAL_STREAM is `device:inode`). */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/** The `<N>` prefix for one of pino's JSON lines (they start with `{"level":N`), info when the level cannot be read. */
export function priorityPrefix(line: string): string {
  const m = /^\{"level":(\d+)/.exec(line);
  return `<${(m && PRIORITY[Number(m[1])]) ?? 6}>`;
}

/** Writes an error message for the user to stderr; under systemd each of its lines is priority err in the journal. */
export function printError(text: string): void {
  const lines = isJournalStream(2) ? text.split('\n').map((line) => `<${ERROR_PRIORITY}>${line}`) : [text];
  process.stderr.write(`${lines.join('\n')}\n`);
}
