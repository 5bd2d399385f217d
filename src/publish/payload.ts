/** The JSON payload of `<prefix>/<id>/scene` and `…/window`: one per window (schemas/mqtt/window.schema.json). */
import { argmax, UNKNOWN_LABEL } from '../fusion/index.js';

/**
 * `schemaVersion` of every JSON message (window, scene, health): raised when a field changes meaning or goes away,
 * not when one is added. The JSON Schemas in schemas/mqtt/ describe this version.
 */
export const MESSAGE_SCHEMA_VERSION = 1;

export interface ClassDecision {
  label: string;
  confidence: number;
  /** class → probability, summing to 1. */
  probs: Record<string, number>;
}

export interface ScenePayload extends ClassDecision {
  /** Counts the device's windows across restarts (state.dir), without gaps: a gap at the subscriber means a lost window. */
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

/** The JSON of `…/scene` and `…/window` (schemas/mqtt/window.schema.json). */
export function windowJson(payload: ScenePayload): string {
  return JSON.stringify({ schemaVersion: MESSAGE_SCHEMA_VERSION, ...payload });
}

export function toClassDecision(classes: readonly string[], probs: ArrayLike<number>): ClassDecision {
  const best = argmax(probs);
  const byClass = Object.fromEntries(classes.map((c, i) => [c, round(probs[i]!)]));
  return { label: classes[best]!, confidence: round(probs[best]!), probs: byClass };
}

export function unknownDecision(classes: readonly string[]): ClassDecision {
  return {
    label: UNKNOWN_LABEL,
    confidence: 0,
    probs: Object.fromEntries(classes.map((c) => [c, round(1 / classes.length)])),
  };
}

/** Six decimals keep a 10-class message small while the probabilities still sum to 1 within 1e-5. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
