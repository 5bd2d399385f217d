/** Log-mel, Bark and scalogram features of 1-s windows or whole clips, per docs/spec/features.md (v1). */
import {
  BLOCK_FRAMES,
  applyFilterbankDb,
  blockOffset,
  barkFilterbank,
  gaussianFilterbank,
  melFilterbank,
  type SparseFilterbank,
} from './filterbank.js';
import { SAMPLE_RATE } from '../audio/index.js';
import { FramePowerSpectrum, N_BINS, N_FFT, frameCount, FRAMES_PER_WINDOW } from './stft.js';

export type FeatureKind = 'logmel' | 'bark' | 'scalogram';
export const FEATURE_KINDS: readonly FeatureKind[] = ['logmel', 'bark', 'scalogram'];
/** The version of docs/spec/features.md this code implements; bundles name the version they were trained on. */
export const FEATURE_SPEC_VERSION = 1;
export const FEATURE_BANDS: Readonly<Record<FeatureKind, number>> = { logmel: 256, bark: 256, scalogram: 290 };
/** Channels of every feature: 0 average, 1 difference. */
export const FEATURE_CHANNELS = 2;

export function isFeatureKind(s: string): s is FeatureKind {
  return (FEATURE_KINDS as readonly string[]).includes(s);
}

const GRID = { sampleRate: SAMPLE_RATE, nFft: N_FFT };
const BUILDERS: Record<FeatureKind, () => SparseFilterbank> = {
  logmel: () => melFilterbank({ ...GRID, nMels: 256, fmin: 0, fmax: SAMPLE_RATE / 2 }),
  bark: () => barkFilterbank({ ...GRID, nBark: 256, fmin: 0, fmax: SAMPLE_RATE / 2 }),
  scalogram: () => gaussianFilterbank({ ...GRID, perOctave: 29, octaves: 10, top: SAMPLE_RATE / 2 }),
};
const banks = new Map<FeatureKind, SparseFilterbank>();

/** The spec's filterbank for a kind, built on first use and shared by every extractor of the process. */
export function filterbankFor(kind: FeatureKind): SparseFilterbank {
  let bank = banks.get(kind);
  if (!bank) {
    bank = BUILDERS[kind]();
    banks.set(kind, bank);
  }
  return bank;
}

export type Features = Partial<Record<FeatureKind, Float32Array>>;

export class FeatureExtractor {
  readonly kinds: readonly FeatureKind[];
  private readonly banks: SparseFilterbank[];
  private readonly spectrum = new FramePowerSpectrum();
  /** Power spectra of a block of up to 6 frames (layout: blockOffset). */
  private readonly power = new Float64Array(blockOffset(N_BINS, BLOCK_FRAMES));
  private readonly windowOut: Features = {};

  constructor(kinds: readonly FeatureKind[]) {
    if (kinds.length === 0) throw new RangeError('FeatureExtractor needs at least one feature kind');
    this.kinds = [...new Set(kinds)];
    this.banks = this.kinds.map(filterbankFor);
    for (const kind of this.kinds) this.windowOut[kind] = new Float32Array(FRAMES_PER_WINDOW * 2 * FEATURE_BANDS[kind]);
  }

  /**
   * One 1-s window (48000 samples per channel at 48 kHz), framed on its own: [6, 2, F] float32 per kind, all kinds
   * from one shared STFT. The returned arrays are reused by the next call (no allocation per window): copy
   * them if you keep them.
   */
  window(left: Float32Array, right: Float32Array): Features {
    if (left.length !== SAMPLE_RATE || right.length !== SAMPLE_RATE) {
      throw new RangeError(
        `a feature window is ${SAMPLE_RATE} samples per channel, got ${left.length} and ${right.length}`,
      );
    }
    this.frames(left, right, this.windowOut);
    return this.windowOut;
  }

  /** A whole clip at 48 kHz: [T, 2, F] float32 per kind, T = 1 + floor(len / 8208). New arrays. */
  clip(left: Float32Array, right: Float32Array): Features {
    if (left.length !== right.length) {
      throw new RangeError(`left and right channels differ in length (${left.length} vs ${right.length})`);
    }
    const out: Features = {};
    const frames = frameCount(left.length);
    for (const kind of this.kinds) out[kind] = new Float32Array(frames * 2 * FEATURE_BANDS[kind]);
    this.frames(left, right, out);
    return out;
  }

  private frames(left: Float32Array, right: Float32Array, out: Features): void {
    const total = frameCount(left.length);
    for (let first = 0; first < total; first += BLOCK_FRAMES) {
      const frames = Math.min(BLOCK_FRAMES, total - first);
      for (let slot = 0; slot < frames; slot++)
        this.spectrum.compute(left, right, first + slot, this.power, blockOffset(N_BINS, slot));
      for (let i = 0; i < this.kinds.length; i++)
        applyFilterbankDb(this.banks[i]!, this.power, frames, out[this.kinds[i]!]!, first);
    }
  }
}
