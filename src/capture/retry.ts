/** Restart pacing for live sources (microphone, camera) that fail and come back while the daemon runs for months. */

export interface BackoffOptions {
  /** First delay after a failure, ms. */
  initialMs: number;
  /** Delays double up to this, ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000 };

/** Exponential backoff: 1 s, 2 s, 4 s … capped; `reset()` once the source works again. */
export class Backoff {
  private nextMs: number;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.nextMs = opts.initialMs;
  }

  /** The delay to wait now; the following one is twice as long (capped). */
  next(): number {
    const ms = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.opts.maxMs);
    return ms;
  }

  reset(): void {
    this.nextMs = this.opts.initialMs;
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects, so callers just re-check the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}
