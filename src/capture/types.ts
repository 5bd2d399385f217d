/** What the capture stage hands to the rest of the pipeline. */
import type { PreprocessSpec } from '../video/preprocess.js';
import type { WindowFrame } from '../video/frame.js';

export type { PreprocessedFrame, VideoFrame, WindowFrame } from '../video/frame.js';

/** One 1-second stereo window at 48 kHz, PCM scaled to [-1, 1). */
export interface AudioWindow {
  /** 0, 1, 2 … since the source started (a looping file keeps counting). */
  index: number;
  /** Wall-clock start and end of the window. Live sources: when it was captured; files: run start + media offset. */
  start: Date;
  end: Date;
  /** Offset of the window's first sample in the source, in seconds (files: position in the file, back to 0 when it loops;
   *  live: seconds of audio captured since the source started, not counting gaps while the device was restarting). */
  mediaOffset: number;
  left: Float32Array;
  right: Float32Array;
}

/**
 * How a live source (microphone, camera) is doing, for readiness, health and systemd's STATUS=: `opening` (started,
 * nothing delivered yet), `up` (delivering) or `waiting` (it failed and is retried after a backoff).
 */
export type SourceCondition =
  | { state: 'opening' | 'up'; since: number }
  | { state: 'waiting'; since: number; reason: string; retryAt: number };

export interface AudioSource {
  /** Human-readable description for logs, e.g. `file /data/a.wav` or `alsa plughw:1,0`. */
  readonly description: string;
  /**
   * True when windows come at the pace of the clock whether or not anyone takes them (a microphone, a file paced in
   * real time): a consumer that falls behind must drop windows. False: the next window waits until it is asked for.
   */
  readonly live: boolean;
  /**
   * Checks the input before anything else opens (the daemon calls it before the outputs start, so a broken input never
   * makes the retained status flap): throws a ConfigError (exit 78) for an input a restart will not mend. Sources whose
   * input may come back by itself (a microphone) have none.
   */
  check?(): Promise<void>;
  /** Yields windows until the source ends (a file without loop) or `signal` aborts. Errors that end the source are thrown. */
  windows(signal: AbortSignal): AsyncIterable<AudioWindow>;
  /** Sources that retry by themselves (a microphone): their state now. Others deliver or end. */
  condition?(): SourceCondition;
  /** What it is, in a sentence's words: `microphone plughw:1,0`. */
  readonly noun?: string;
}

export interface VideoSource {
  readonly description: string;
  /** Opens the source; throws a clear error when the setting cannot work (file missing or undecodable, malformed URL or
   *  device path). A live camera that is absent at start-up is not an error: it is retried in the background (null frames meanwhile). */
  start(): Promise<void>;
  /** The frame nearest the window's midpoint, or null when none is available (camera down, file ended without loop).
   *  Live sources keep only the last few seconds of frames: call it as soon as the window arrives, before queueing it. */
  frameFor(window: AudioWindow): Promise<WindowFrame | null>;
  /** From the next window on, frames come as the tensors of these preprocess blocks (the running bundle's image nets), or as BGR when empty. */
  setPreprocess?(preprocess: PreprocessSpec[]): void;
  stop(): Promise<void>;
  /** Sources that retry by themselves (a camera): their state now. */
  condition?(): SourceCondition;
}
