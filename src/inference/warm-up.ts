/**
 * Opens a bundle's sessions and classifies one synthetic window with them, before the bundle is trusted with real
 * windows: `avscene bundle install` does it before flipping `current`, the daemon before a hot swap. The first run of a
 * session is the slow one (memory planning, kernel selection, TensorRT engines); doing it here keeps it off the hot
 * path, and a net that cannot run (wrong graph, out of memory) is found while the old bundle still serves.
 */
import path from 'node:path';
import type { PreprocessedFrame } from '../video/frame.js';
import { MANIFEST_FILE, type Bundle } from './bundle-manifest.js';
import { BundleError } from './bundle-manifest.js';
import { preprocessKey, uniformTensor } from '../video/preprocess.js';
import { SceneEngine, type EngineInput, type EngineOptions } from './engine.js';

/**
 * A fixed, deterministic input that exercises every net the bundle loads: quiet noise, and a mid-gray frame when it
 * has image nets, given as its tensors (a uniform frame needs no OpenCV to preprocess, so warming up never loads it).
 */
export function warmUpInput(bundle: Bundle): EngineInput {
  const m = bundle.manifest;
  const samples = m.sampleRate * m.windowSeconds;
  const left = new Float32Array(samples);
  const right = new Float32Array(samples);
  let state = 1;
  for (let i = 0; i < samples; i++) {
    state = (state * 1103515245 + 12345) >>> 0; // LCG: the same window every time, no Math.random
    left[i] = (state / 2 ** 32 - 0.5) * 0.02;
    right[i] = -left[i]!;
  }
  const nets = Object.values(m.imageNets);
  const frame: PreprocessedFrame | null =
    nets.length > 0
      ? {
          timestamp: 0,
          width: 320,
          height: 240,
          tensors: Object.fromEntries(nets.map((n) => [preprocessKey(n.preprocess), uniformTensor(128, n.preprocess)])),
        }
      : null;
  return { audio: { left, right }, frame };
}

export interface WarmEngine {
  engine: SceneEngine;
  /** Milliseconds to open the sessions and to classify the warm-up window. */
  sessionsMs: number;
  warmUpMs: number;
}

/** Creates the engine and classifies the warm-up window; throws BundleError (engine closed) when any net fails on it. */
export async function openWarm(bundle: Bundle, options: EngineOptions): Promise<WarmEngine> {
  const t0 = performance.now();
  const engine = await SceneEngine.create(bundle, options);
  const t1 = performance.now();
  try {
    const result = await engine.classify(warmUpInput(bundle));
    const finite = Array.from(result.probs).every(Number.isFinite);
    if (result.degraded || !finite) {
      throw new BundleError(
        path.join(bundle.dir, MANIFEST_FILE),
        `a test window could not be classified (${result.degradedReason ?? 'non-finite probabilities'})`,
        'The ONNX files do not run as bundle.json describes: re-export the bundle with the toolkit (python3 -m avscene_models export …).',
      );
    }
  } catch (err) {
    await engine.close();
    throw err;
  }
  return { engine, sessionsMs: t1 - t0, warmUpMs: performance.now() - t1 };
}
