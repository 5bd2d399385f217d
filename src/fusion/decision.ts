/**
 * Decision-level fusion (§2.3.2 of the report): the fused distribution is the weighted mean of the heads' class
 * probabilities. Weights are renormalised over the heads that actually produced a result, so a subset of heads
 * (a fallback set, a head that failed) still yields a proper distribution.
 */

export type HeadProbs = Readonly<Record<string, ArrayLike<number>>>;
export type HeadWeights = Readonly<Record<string, number>>;

/** The label of a window no head could classify (e.g. an image-only bundle while the camera is down). */
export const UNKNOWN_LABEL = 'unknown';

export class FusionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FusionError';
  }
}

/**
 * Weighted mean of `probs[h]` over the heads `h` of `weights` (weights need not sum to 1; zero weights are ignored).
 * `weights === 'unweighted'` gives every head in `probs` the same weight.
 * Throws FusionError when no head with a positive weight has probabilities, or widths differ.
 */
export function fuseDecisions(probs: HeadProbs, weights: HeadWeights | 'unweighted'): Float64Array {
  const used =
    weights === 'unweighted'
      ? Object.keys(probs).map((h) => [h, 1] as const)
      : Object.entries(weights).filter(([h, w]) => w > 0 && probs[h] !== undefined);
  if (used.length === 0)
    throw new FusionError(
      `no head with a positive weight has a result (heads: ${Object.keys(probs).join(', ') || 'none'})`,
    );
  const width = probs[used[0]![0]]!.length;
  const fused = new Float64Array(width);
  let total = 0;
  for (const [head, w] of used) {
    const p = probs[head]!;
    if (p.length !== width) throw new FusionError(`head ${head} gives ${p.length} classes, expected ${width}`);
    for (let c = 0; c < width; c++) fused[c]! += w * p[c]!;
    total += w;
  }
  for (let c = 0; c < width; c++) fused[c]! /= total;
  return fused;
}

/** Index of the largest value (first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
