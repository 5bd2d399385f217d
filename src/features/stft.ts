/**
 * The spec's frame grid: centered (N/2 zeros each side), periodic Hann, N = 24576, H = 8208, at 48 kHz, and the
 * power spectra of the average and difference channels of one frame from a single complex FFT.
 */
import { SAMPLE_RATE } from '../audio/format.js';
import { ComplexFft } from './fft.js';

export const N_FFT = 24576;
export const HOP = 8208;
/** rfft bins per frame, N/2 + 1. */
export const N_BINS = N_FFT / 2 + 1;
/** Frames per 1-s window (48000 samples): 1 + floor(48000 / 8208) = 6. */
export const FRAMES_PER_WINDOW = frameCount(SAMPLE_RATE);

/** T = 1 + floor(len / H). */
export function frameCount(samples: number): number {
  return 1 + Math.floor(samples / HOP);
}

export class FramePowerSpectrum {
  private readonly fft = new ComplexFft(N_FFT);
  /** Periodic Hann window times 1/2, the factor of a = (L + R)/2 and d = (L − R)/2 (exact: a power of two). */
  private readonly halfHann = new Float64Array(N_FFT);

  constructor() {
    for (let n = 0; n < N_FFT; n++) this.halfHann[n] = 0.5 * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT));
  }

  /**
   * Power spectra of frame t of the average and difference channels of (left, right), written to
   * power[offset + 2k] (average) and power[offset + 2k + 1] (difference), k = 0 … N/2.
   * Frame t covers samples tH − N/2 … tH + N/2 − 1; samples outside the signal are the spec's zero padding.
   */
  compute(left: Float32Array, right: Float32Array, t: number, power: Float64Array, offset: number): void {
    const z = this.fft.data;
    const window = this.halfHann;
    const start = t * HOP - N_FFT / 2;
    // Window only the part of the frame that overlaps the signal; the rest is zero.
    const from = Math.max(0, -start);
    const to = Math.max(from, Math.min(N_FFT, left.length - start));
    z.fill(0, 0, 2 * from);
    for (let n = from; n < to; n++) {
      // z = a + i·d, both channels in one complex FFT.
      const l = left[start + n]!;
      const r = right[start + n]!;
      z[2 * n] = window[n]! * (l + r);
      z[2 * n + 1] = window[n]! * (l - r);
    }
    z.fill(0, 2 * to);
    this.fft.pairPower(power, offset);
  }
}
