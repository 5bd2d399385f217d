/** Counters behind `<prefix>/<id>/health`: what a field engineer checks first on a misbehaving device. */
import { percentile } from '../util/percentile.js';

export class HealthCounters {
  windows = 0;
  degraded = 0;
  /** Windows dropped because inference fell behind real time. */
  dropped = 0;
  /** Windows skipped because their samples were not finite. */
  invalid = 0;
  /** Model bundles swapped in without a restart, and reloads refused (the running bundle stayed). */
  bundleSwaps = 0;
  bundleSwapFailures = 0;
  private latencies: number[] = [];

  recordWindow(latencyMs: number, degraded: boolean): void {
    this.windows++;
    if (degraded) this.degraded++;
    this.latencies.push(latencyMs);
  }

  /** Counters since start, and latency percentiles since the last snapshot. */
  snapshot(): Record<string, number> {
    const sorted = this.latencies.sort((a, b) => a - b);
    this.latencies = [];
    const pick = (p: number) => (sorted.length ? Math.round(percentile(sorted, p)) : 0);
    return {
      windows: this.windows,
      degraded: this.degraded,
      dropped: this.dropped,
      invalid: this.invalid,
      bundleSwaps: this.bundleSwaps,
      bundleSwapFailures: this.bundleSwapFailures,
      latencyP50Ms: pick(50),
      latencyP95Ms: pick(95),
    };
  }
}
