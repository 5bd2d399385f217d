/** The JSON payload of `<prefix>/<id>/scene`: one per window. */
import { argmax } from '../fusion/index.js';

export interface ClassDecision {
  label: string;
  confidence: number;
  /** class → probability, summing to 1. */
  probs: Record<string, number>;
}

export interface ScenePayload extends ClassDecision {
  /** Monotonic per run, starting at 0, without gaps: a gap on the subscriber side means lost messages. */
  seq: number;
  device: string;
  window: { start: string; end: string };
  /** Modalities the label was computed from. */
  modalities: Array<'audio' | 'image'>;
  /** True when a modality the model wants was missing (camera down, video ended) and no fallback head covered it. */
  degraded: boolean;
  degradedReason?: string;
  model: { name: string; version: string };
  /** Present when temporal smoothing is on: the raw, unsmoothed decision of this window alone. */
  raw?: ClassDecision;
  /** Milliseconds from the window leaving capture to its label being ready (queueing + features + inference). */
  latencyMs: number;
}

export function toClassDecision(classes: readonly string[], probs: ArrayLike<number>): ClassDecision {
  const best = argmax(probs);
  const byClass = Object.fromEntries(classes.map((c, i) => [c, round(probs[i]!)]));
  return { label: classes[best]!, confidence: round(probs[best]!), probs: byClass };
}

/** The label of a window no head could classify (e.g. an image-only bundle while the camera is down). */
export const UNKNOWN_LABEL = 'unknown';

export function unknownDecision(classes: readonly string[]): ClassDecision {
  return { label: UNKNOWN_LABEL, confidence: 0, probs: Object.fromEntries(classes.map((c) => [c, round(1 / classes.length)])) };
}

/** Six decimals keep a 10-class message small while the probabilities still sum to 1 within 1e-5. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
