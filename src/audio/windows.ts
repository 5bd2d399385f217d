/**
 * How a recording of arbitrary length is cut into 1-s windows — one rule for the daemon's file source, `avscene
 * classify`/`eval` and the training features (`avscene features --window 1`), so all of them see the same windows.
 *
 * Windows are consecutive 48000-sample slices. A trailing part is dropped (padding a fraction of a second with silence
 * would change its features), except when it lacks at most PAD_TOLERANCE samples: then it is completed with zeros.
 * TAU clips are 480000 ± 1 samples, and losing a tenth of a clip to one missing sample would be absurd.
 */
import { WINDOW_SAMPLES } from './format.js';

/** 10 ms: zero-padding this little changes the window's features far less than dropping the second would. */
export const PAD_TOLERANCE = 480;

export function wholeWindowCount(samples: number): number {
  return Math.floor((samples + PAD_TOLERANCE) / WINDOW_SAMPLES);
}

/** Samples of window k (48000, zero-padded at the end of the recording). Shares memory when no padding is needed. */
export function windowSamples(channel: Float32Array, k: number): Float32Array {
  const from = k * WINDOW_SAMPLES;
  if (from + WINDOW_SAMPLES <= channel.length) return channel.subarray(from, from + WINDOW_SAMPLES);
  const padded = new Float32Array(WINDOW_SAMPLES);
  padded.set(channel.subarray(from));
  return padded;
}

/** Samples after the last whole window, which are not classified (0 when the recording ends on a window edge or was padded). */
export function droppedTail(samples: number): number {
  return Math.max(0, samples - wholeWindowCount(samples) * WINDOW_SAMPLES);
}
