/**
 * Turns one captured window (+ its center frame) into the published scene message: inference, optional temporal
 * smoothing, payload. Shared by the daemon and `avscene classify`, so both say exactly the same thing.
 */
import type { AudioWindow, WindowFrame } from '../capture/types.js';
import { findNonFinite } from '../audio/index.js';
import type { SceneEngine, Bundle } from '../inference/index.js';
import { Smoother } from '../fusion/index.js';
import { toClassDecision, unknownDecision, type ScenePayload } from '../publish/payload.js';

export class InvalidWindowError extends Error {}

export class SceneLabeler {
  private smoother: Smoother | null;

  constructor(
    private engine: SceneEngine,
    private currentBundle: Bundle,
    private readonly deviceId: string,
    private readonly smoothingWindows: number,
    /** The daemon continues the device's count across restarts (SeqStore); `classify` counts from 0. */
    private readonly nextSeq: () => number = counter(),
  ) {
    this.smoother = smoothingWindows > 1 ? new Smoother(smoothingWindows) : null;
  }

  /** The bundle the next window is labelled with. */
  get bundle(): Bundle {
    return this.currentBundle;
  }

  /**
   * Labels the next window with another engine and bundle (a hot swap; call it between two windows). `seq` carries on;
   * the smoothing history starts again, since it was the old model's opinion. Returns the old engine, for the caller to close.
   */
  swap(engine: SceneEngine, bundle: Bundle): SceneEngine {
    const old = this.engine;
    this.engine = engine;
    this.currentBundle = bundle;
    this.smoother = this.smoothingWindows > 1 ? new Smoother(this.smoothingWindows) : null;
    return old;
  }

  /** Throws InvalidWindowError for a window that must be skipped (NaN/Inf samples); the caller logs and goes on. */
  async label(
    window: AudioWindow,
    frame: WindowFrame | null,
    receivedAt = Date.now(),
  ): Promise<ScenePayload & { timings: Record<string, number> }> {
    const bad = findNonFinite(window.left) ?? findNonFinite(window.right);
    if (bad !== null) {
      throw new InvalidWindowError(
        `window ${window.index} has a non-finite sample (${bad.value} at ${bad.index}); skipped`,
      );
    }
    const result = await this.engine.classify({ audio: { left: window.left, right: window.right }, frame });
    // No head ran: say so rather than name the first class of a uniform distribution, and keep it out of the smoothing.
    const classified = Object.keys(result.heads).length > 0;
    const raw = classified ? toClassDecision(result.classes, result.probs) : unknownDecision(result.classes);
    const decision =
      this.smoother && classified ? toClassDecision(result.classes, this.smoother.push(result.probs)) : raw;
    const manifest = this.currentBundle.manifest;
    return {
      ...decision,
      seq: this.nextSeq(),
      device: this.deviceId,
      window: { start: window.start.toISOString(), end: window.end.toISOString() },
      modalities: result.modalities,
      degraded: result.degraded,
      ...(result.degradedReason ? { degradedReason: result.degradedReason } : {}),
      model: { name: manifest.name, version: manifest.version },
      ...(this.smoother ? { raw } : {}),
      latencyMs: Date.now() - receivedAt,
      timings: result.timings,
    };
  }
}

function counter(): () => number {
  let n = 0;
  return () => n++;
}
