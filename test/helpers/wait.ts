/**
 * Waiting for something the code under test makes happen (rule: wait for events, never fixed sleeps): read what can be
 * observed again and again until it holds, and fail by a deadline with what was seen last.
 */

export interface PollOptions<T> {
  /** Milliseconds between two reads (default 50). */
  everyMs?: number;
  /** Added to the failure message, from the last value read (e.g. the last messages or log lines). */
  explain?: (last: T) => string;
  /** A reason to fail before the deadline, from the last value read (e.g. 'the process exited'), or null to go on. */
  givesUp?: (last: T) => string | null;
}

/** Reads `read()` until `done` holds for its value and returns that value; fails after `timeoutMs`, naming `what`. */
export async function poll<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  what: string,
  options: PollOptions<T> = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    const why = options.givesUp?.(value) ?? (Date.now() > deadline ? `${timeoutMs} ms passed` : null);
    if (why !== null) throw new Error(`${why} before ${what}${options.explain ? `; ${options.explain(value)}` : ''}`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 50));
  }
}

/**
 * Waits until `condition()` holds, checking every 10 ms (conditions are cheap reads of state the test keeps, and a
 * short-lived state must not be missed); fails after `timeoutMs`, naming `what` (and `explain()`, when given).
 */
export async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
  explain?: () => string,
): Promise<void> {
  await poll(condition, Boolean, timeoutMs, what, { everyMs: 10, ...(explain ? { explain } : {}) });
}
