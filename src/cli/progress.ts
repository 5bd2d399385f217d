/**
 * Progress of long offline commands (features, eval) on stderr: one line rewritten in place, on a terminal only. When
 * stderr is a file, a pipe or the journal, `\r` lines would be noise mixed into the logs, so nothing is shown.
 */
export class ProgressLine {
  private readonly tty = process.stderr.isTTY === true;
  private open = false;

  /** Replaces the progress line with `text`. */
  update(text: string): void {
    if (!this.tty) return;
    process.stderr.write(`\r\x1b[K${text}`);
    this.open = true;
  }

  /** Prints `text` on a line of its own (on a terminal, in place of the progress line, which the next update redraws). */
  message(text: string): void {
    if (this.open) process.stderr.write('\r\x1b[K');
    this.open = false;
    process.stderr.write(`${text}\n`);
  }

  /** Ends the progress line so that later output starts on a fresh line. */
  done(): void {
    if (this.open) process.stderr.write('\n');
    this.open = false;
  }
}
