/**
 * Which heads to fuse, with which weights, for the modalities a window actually has (models/BUNDLE.md §5): every
 * head when nothing is missing; else the bundle's fallback set for the modality that is there; else the heads that
 * need only what is there, and the result says why it is degraded.
 */
import type { HeadWeights } from './decision.js';

export type Modality = 'audio' | 'image';

/** What the choice reads from a bundle manifest (BundleManifest fits it). */
export interface FusionSpec {
  decision: {
    method: 'weighted' | 'unweighted';
    weights: HeadWeights;
    fallback?: { audio?: HeadWeights; image?: HeadWeights };
  };
  heads: Readonly<Record<string, { audioNet: string | null; imageNet: string | null }>>;
}

export interface WeightChoice {
  weights: HeadWeights;
  /** Set when the bundle's fallback heads for this modality were chosen. */
  fallback?: Modality;
  /** Set when the result is less than the bundle was built to give, and why. */
  reason?: string;
}

export function chooseWeights(spec: FusionSpec, hasAudio: boolean, hasImage: boolean): WeightChoice {
  const d = spec.decision;
  const full = Object.fromEntries(
    Object.entries(d.weights)
      .filter(([, w]) => w > 0)
      .map(([h, w]) => [h, d.method === 'unweighted' ? 1 : w]),
  );
  const usable = Object.fromEntries(
    Object.entries(full).filter(([h]) => {
      const head = spec.heads[h]!;
      return (!head.audioNet || hasAudio) && (!head.imageNet || hasImage);
    }),
  );
  const nUsable = Object.keys(usable).length;
  if (nUsable === Object.keys(full).length) return { weights: usable }; // nothing the bundle uses is missing
  const present: Modality | null = hasAudio ? 'audio' : hasImage ? 'image' : null;
  const fallback = present ? d.fallback?.[present] : undefined;
  if (present && fallback) return { weights: fallback, fallback: present };
  const what = present === 'audio' ? 'no video frame' : 'no audio';
  const reason =
    present === null
      ? 'neither audio nor a video frame'
      : nUsable > 0
        ? `${what}: fused from the ${nUsable} of ${Object.keys(full).length} heads that need only ${present} (the bundle has no ${present}-only fallback)`
        : `${what}, and the bundle has no heads that work on ${present} alone`;
  return { weights: usable, reason };
}
