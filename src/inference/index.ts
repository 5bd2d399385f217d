export { loadBundle } from './bundle.js';
export {
  checkSampleRate,
  sampleRateMismatch,
  SAMPLE_RATE_POLICIES,
  type SampleRatePolicy,
} from './sample-rate.js';
export {
  activeHeads,
  BundleError,
  MANIFEST_FILE,
  type Bundle,
  type BundleManifest,
  type HeadSpec,
  type AudioNetSpec,
  type ImageNetSpec,
} from './bundle-manifest.js';
export {
  SceneEngine,
  EngineFailure,
  engineOptions,
  planFor,
  type SceneResult,
  type EngineInput,
  type EngineOptions,
  type Modality,
  type SessionInfo,
} from './engine.js';
export {
  providerOrder,
  installedBackends,
  executionProviders,
  PrecisionError,
  type Provider,
  type Precision,
} from './providers.js';
