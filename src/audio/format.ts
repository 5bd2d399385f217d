/** The audio every stage after decoding works on: 48 kHz stereo float, cut into 1-s windows (docs/spec/features.md § Input). */

/** Samples per second of every window the pipeline sees (sources and file readers convert to it). */
export const SAMPLE_RATE = 48000;
/** A window is exactly one second. */
export const WINDOW_SAMPLES = SAMPLE_RATE;

/** Two channels at SAMPLE_RATE; for mono input both are the same array. */
export interface StereoAudio {
  left: Float32Array;
  right: Float32Array;
}
