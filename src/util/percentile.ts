/**
 * Nearest-rank percentile: the smallest value with at least p % of the values at or below it (always one of the
 * values, never an interpolation). The daemon's health report and `avscene bench` both use it, so their numbers agree.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
