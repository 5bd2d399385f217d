/**
 * The one implementation of the audio features (docs/spec/features.md, v1) used by the daemon,
 * `avscene classify`, `avscene features` and, through the latter, the training toolkit.
 */
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
export { FRAMES_PER_WINDOW, HOP, N_FFT, frameCount } from './stft.js';
