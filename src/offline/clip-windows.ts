/**
 * The offline tools' one loop over a recording: its 1-s windows exactly as the daemon cuts a file, each with the
 * frame of a video file nearest its midpoint. `avscene classify`, `eval` and `bench` all read recordings through it.
 */
import { FileAudioSource } from '../capture/audio-file.js';
import type { AudioWindow } from '../capture/types.js';
import { FileVideoSource, type VideoProcessKeeper } from '../capture/video-file.js';
import type { PreprocessSpec } from '../video/preprocess.js';
import type { Logger } from '../log/logger.js';
import type { WindowFrame } from '../video/frame.js';

export interface ClipWindow {
  window: AudioWindow;
  /** null without a video, or past its end. */
  frame: WindowFrame | null;
}

export interface ClipFiles {
  /** WAV file (any rate, converted to 48 kHz stereo). */
  audio: string;
  /** Video file whose frames go with the windows; null: audio only. */
  video: string | null;
  logger: Logger;
  /** The engine's image preprocess blocks: frames come preprocessed by the video process (default: BGR frames). */
  preprocess?: PreprocessSpec[];
  /** A process kept across clips (eval), instead of one per clip. */
  processes?: VideoProcessKeeper;
}

/**
 * Yields the windows as fast as they are taken. The video is opened before the first window (a bad one throws then)
 * and closed however the loop ends (done, break, or an error in the caller's loop body).
 */
export async function* clipWindows({
  audio,
  video,
  logger,
  preprocess,
  processes,
}: ClipFiles): AsyncGenerator<ClipWindow> {
  const videoSource = video ? new FileVideoSource({ file: video, loop: false, logger, preprocess, processes }) : null;
  try {
    await videoSource?.start();
    const audioSource = new FileAudioSource({ file: audio, loop: false, realtime: false, logger });
    for await (const window of audioSource.windows(new AbortController().signal)) {
      yield { window, frame: videoSource ? await videoSource.frameFor(window) : null };
    }
  } finally {
    await videoSource?.stop();
  }
}
