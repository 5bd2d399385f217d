/**
 * The one implementation of the audio features (../shared/spec/features.md, v1) used by the daemon,
 * `avscene classify`, `avscene features` and, through the latter, the training toolkit.
 */
import type { DecodedAudio } from '../capture/wav.js';
import { Resampler, TARGET_RATE } from './resample.js';

export type { DecodedAudio } from '../capture/wav.js';
/** Re-exported for the window path: the daemon drops a window that holds NaN/Inf. */
export { findNonFinite } from '../capture/wav.js';
export {
  FeatureExtractor,
  FEATURE_BANDS,
  FEATURE_CHANNELS,
  FEATURE_KINDS,
  FEATURE_SPEC_VERSION,
  filterbankFor,
  isFeatureKind,
  type FeatureKind,
  type Features,
} from './extractor.js';
export { FRAMES_PER_WINDOW, HOP, N_FFT, SAMPLE_RATE, frameCount } from './stft.js';
export { Resampler } from './resample.js';

export interface StereoAudio {
  left: Float32Array;
  right: Float32Array;
}

/**
 * The spec's input stage: 48 kHz (band-limited resampling of any other rate, see resample.ts), mono → L = R
 * (the same array), more than two channels → the first two.
 */
export function toStereo48k(audio: DecodedAudio): StereoAudio {
  const [first, second] = audio.channels;
  if (!first) throw new RangeError('audio has no channels');
  let left = first;
  let right = second ?? first;
  if (audio.sampleRate !== TARGET_RATE) {
    const resampler = new Resampler(audio.sampleRate, TARGET_RATE);
    left = resampler.process(left);
    right = second ? resampler.process(right) : left;
  }
  return { left, right };
}
