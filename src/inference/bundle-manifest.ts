/**
 * What a model bundle is (format: models/BUNDLE.md, schema: bundle.schema.json): the manifest's types, the error that
 * refuses a bundle, and which heads a decision uses.
 */
import { EX_CONFIG } from '../util/exit-codes.js';
import type { FeatureKind } from '../features/index.js';
import type { PreprocessSpec } from '../video/preprocess.js';

export const MANIFEST_FILE = 'bundle.json';

export interface TensorSpec {
  name: string;
  shape: number[];
}
export interface OnnxFileSpec {
  file: string;
  sha256: string;
}
export interface AudioNetSpec extends OnnxFileSpec {
  architecture: string;
  feature: FeatureKind;
  input: TensorSpec;
  output: TensorSpec;
}
export interface ImageNetSpec extends OnnxFileSpec {
  architecture: string;
  input: TensorSpec;
  output: TensorSpec;
  preprocess: PreprocessSpec;
}
export interface HeadSpec extends OnnxFileSpec {
  audioNet: string | null;
  imageNet: string | null;
  inputs: { audio?: TensorSpec; image?: TensorSpec };
  output: TensorSpec;
  temperature?: number;
  metrics?: Record<string, unknown>;
}
export type Weights = Record<string, number>;
export interface DecisionSpec {
  method: 'weighted' | 'unweighted';
  weights: Weights;
  fallback?: { audio?: Weights; image?: Weights };
}
export interface BundleManifest {
  format: 'avscene-bundle';
  formatVersion: 1;
  name: string;
  version: string;
  description?: string;
  created?: string;
  featureSpec: number;
  sampleRate: 48000;
  windowSeconds: 1;
  framesPerWindow: 6;
  /** The sample rate the training audio was recorded at (features resample to sampleRate from it); see sample-rate.ts. */
  trainedSampleRate?: number;
  classes: string[];
  untrainedClasses?: string[];
  audioNets: Record<string, AudioNetSpec>;
  imageNets: Record<string, ImageNetSpec>;
  heads: Record<string, HeadSpec>;
  decision: DecisionSpec;
  metrics?: Record<string, unknown>;
  provenance?: Record<string, unknown>;
}

export interface Bundle {
  /** Absolute bundle directory, symbolic links resolved (a `current` link may move on while this bundle runs). */
  dir: string;
  manifest: BundleManifest;
  /** SHA-256 of bundle.json, which pins every ONNX file: identifies this exact bundle (published on `…/info`). */
  sha256: string;
  /** True when bundle.sig was verified against model.publicKey. */
  signed: boolean;
  /** Things that work but deserve a log line (e.g. a head nobody uses). */
  warnings: string[];
}

/** A bundle the daemon must refuse. `file` is the offending file; the message says what is wrong and how to fix it. */
export class BundleError extends Error {
  /** EX_CONFIG, like a bad configuration: restarting will not mend the bundle (systemd: RestartPreventExitStatus=78). */
  readonly exitCode = EX_CONFIG;
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`model bundle: ${file}: ${problem}. ${fix}`);
    this.name = 'BundleError';
  }
}

/** The fix for a bundle whose files or manifest are wrong. */
export const REEXPORT =
  'Re-export the bundle with the toolkit (python3 -m avscene_models export …) or point model.bundle at an intact copy.';

/** Heads with a positive weight in the normal weights or any fallback: the only ones the engine loads. */
export function activeHeads(decision: DecisionSpec): string[] {
  const sets = [decision.weights, decision.fallback?.audio ?? {}, decision.fallback?.image ?? {}];
  return [...new Set(sets.flatMap((s) => Object.keys(s).filter((h) => s[h]! > 0)))];
}
