/** Features of one audio file, as `avscene features` writes them: whole-clip [T,2,F] or per-window [W,6,2,F]. */
import { readInputFileSync } from '../util/input-file.js';
import {
  AudioFormatError,
  SAMPLE_RATE,
  assertFiniteAudio,
  decodeWav,
  toStereo48k,
  wholeWindowCount,
  windowSamples,
} from '../audio/index.js';
import { FEATURE_BANDS, FeatureExtractor, type FeatureKind } from './extractor.js';
import { FRAMES_PER_WINDOW, frameCount } from './stft.js';

export interface FeatureArray {
  data: Float32Array;
  shape: number[];
}

/** One extractor per set of kinds, reused across the files a process (or worker) handles. */
const extractors = new Map<string, FeatureExtractor>();

function extractorFor(kinds: readonly FeatureKind[]): FeatureExtractor {
  const key = kinds.join(',');
  let extractor = extractors.get(key);
  if (!extractor) {
    extractor = new FeatureExtractor(kinds);
    extractors.set(key, extractor);
  }
  return extractor;
}

/**
 * Reads, decodes and checks a WAV file, converts it to 48 kHz stereo, and computes the features:
 * perWindow false → the whole clip framed at once, [T, 2, F];
 * perWindow true  → the daemon's 1-s windows (audio/windows.ts), each framed on its own exactly as the
 *                   daemon does, [W, 6, 2, F].
 */
export function fileFeatures(
  file: string,
  kinds: readonly FeatureKind[],
  perWindow: boolean,
): Map<FeatureKind, FeatureArray> {
  const audio = decodeWav(readInputFileSync(file), file);
  assertFiniteAudio(audio, file);
  const { left, right } = toStereo48k(audio);
  const extractor = extractorFor(kinds);
  const result = new Map<FeatureKind, FeatureArray>();
  if (!perWindow) {
    const features = extractor.clip(left, right);
    for (const kind of kinds)
      result.set(kind, { data: features[kind]!, shape: [frameCount(left.length), 2, FEATURE_BANDS[kind]] });
    return result;
  }
  const windows = wholeWindowCount(left.length);
  if (windows === 0) {
    throw new AudioFormatError(
      file,
      `is ${(left.length / SAMPLE_RATE).toFixed(3)} s long: shorter than one 1-s window, so it has no per-window features`,
    );
  }
  for (const kind of kinds) {
    result.set(kind, {
      data: new Float32Array(windows * FRAMES_PER_WINDOW * 2 * FEATURE_BANDS[kind]),
      shape: [windows, FRAMES_PER_WINDOW, 2, FEATURE_BANDS[kind]],
    });
  }
  for (let w = 0; w < windows; w++) {
    const features = extractor.window(windowSamples(left, w), windowSamples(right, w));
    for (const kind of kinds) {
      const window = features[kind]!;
      result.get(kind)!.data.set(window, w * window.length);
    }
  }
  return result;
}
