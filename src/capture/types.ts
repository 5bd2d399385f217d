/** What the capture stage hands to the rest of the pipeline. */

/** Samples per second of every window the pipeline sees (sources convert to it). */
export const SAMPLE_RATE = 48000;
/** A window is exactly one second. */
export const WINDOW_SAMPLES = SAMPLE_RATE;

/** One 1-second stereo window at 48 kHz, PCM scaled to [-1, 1). */
export interface AudioWindow {
  /** 0, 1, 2 … since the source started (a looping file keeps counting). */
  index: number;
  /** Wall-clock start and end of the window. Live sources: when it was captured; files: run start + media offset. */
  start: Date;
  end: Date;
  /** Offset of the window's first sample in the source, in seconds (files: position in the file; live: since capture start). */
  mediaOffset: number;
  left: Float32Array;
  right: Float32Array;
}

/** One decoded video frame, 8-bit BGR, row-major HWC (as OpenCV delivers it). */
export interface VideoFrame {
  /** Frame time on the clock of the window it belongs to: media seconds (files) or wall-clock ms since epoch (live). */
  timestamp: number;
  width: number;
  height: number;
  bgr: Buffer;
}

export interface AudioSource {
  /** Human-readable description for logs, e.g. `file /data/a.wav` or `alsa plughw:1,0`. */
  readonly description: string;
  /** Yields windows until the source ends (a file without loop) or `signal` aborts. Errors that end the source are thrown. */
  windows(signal: AbortSignal): AsyncIterable<AudioWindow>;
}

export interface VideoSource {
  readonly description: string;
  /** Opens the source; throws a clear error when it cannot be opened at start-up. */
  start(): Promise<void>;
  /** The frame nearest the window's midpoint, or null when none is available (camera down, file ended without loop). */
  frameFor(window: AudioWindow): Promise<VideoFrame | null>;
  stop(): Promise<void>;
}
