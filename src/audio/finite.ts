/** NaN/Inf checks: a non-finite sample would turn a whole window's features (and its label) into NaN. */
import { AudioFormatError, type DecodedAudio } from './wav.js';

/** The first NaN or ±Infinity sample, or null. The daemon drops (with a warning) a window where this is not null. */
export function findNonFinite(samples: Float32Array): { index: number; value: number } | null {
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    // v - v is NaN exactly for NaN and ±Infinity.
    if (v - v !== 0) return { index: i, value: v };
  }
  return null;
}

/** Throws AudioFormatError naming the file, channel and time of the first NaN/Inf sample. */
export function assertFiniteAudio(audio: DecodedAudio, name: string): void {
  audio.channels.forEach((samples, c) => {
    const bad = findNonFinite(samples);
    if (bad) {
      throw new AudioFormatError(
        name,
        `sample ${bad.index} of channel ${c} (at ${(bad.index / audio.sampleRate).toFixed(3)} s) is ${bad.value} — ` +
          'audio must be finite numbers (check the program that wrote this float WAV)',
      );
    }
  });
}
