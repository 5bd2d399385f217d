/**
 * Temporal smoothing for a steady published label: the geometric mean of the last K windows' distributions
 * (mean of log-probabilities, renormalised). A geometric mean lets one confident window outvote neither a run of
 * consistent ones nor hide a real scene change for more than about K/2 windows. K ≤ 1 means off (pass-through).
 */

/** Floor for log(p): a class that one window gives exactly 0 must not veto it forever (log 0 = −∞). */
const LOG_FLOOR = Math.log(1e-12);

export class Smoother {
  private readonly history: Float64Array[] = [];

  constructor(readonly windows: number) {
    if (!Number.isInteger(windows) || windows < 0)
      throw new RangeError(`smoothing window count must be a whole number ≥ 0, got ${windows}`);
  }

  get enabled(): boolean {
    return this.windows > 1;
  }

  /** Adds one window's probabilities and returns the smoothed distribution (a copy of `probs` when off). */
  push(probs: ArrayLike<number>): Float64Array {
    if (!this.enabled) return Float64Array.from(probs);
    const logp = Float64Array.from(probs, (p) => (p > 0 ? Math.max(Math.log(p), LOG_FLOOR) : LOG_FLOOR));
    if (this.history.length > 0 && this.history[0]!.length !== logp.length) {
      throw new RangeError(`smoother got ${logp.length} classes after ${this.history[0]!.length}`);
    }
    this.history.push(logp);
    if (this.history.length > this.windows) this.history.shift();
    const mean = new Float64Array(logp.length);
    for (const row of this.history) for (let c = 0; c < row.length; c++) mean[c]! += row[c]! / this.history.length;
    // softmax of the mean log-probability = normalised geometric mean
    let max = -Infinity;
    for (const v of mean) max = Math.max(max, v);
    let sum = 0;
    for (let c = 0; c < mean.length; c++) sum += mean[c] = Math.exp(mean[c]! - max);
    for (let c = 0; c < mean.length; c++) mean[c]! /= sum;
    return mean;
  }

  /** Forgets the history (e.g. after a source restart, where old windows say nothing about the new place). */
  reset(): void {
    this.history.length = 0;
  }
}
