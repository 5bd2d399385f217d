/** The capture stage: builds the audio and video sources the config asks for. */
import { closeSync, openSync, readSync } from 'node:fs';
import { SAMPLE_RATE } from '../audio/index.js';
import type { PreprocessSpec } from '../video/preprocess.js';
import type { Logger } from '../log/logger.js';
import { AlsaAudioSource } from './audio-alsa.js';
import { FileAudioSource } from './audio-file.js';
import type { AudioSource, VideoSource } from './types.js';
import { FileVideoSource } from './video-file.js';
import type { PixelFormatSetting } from './v4l2-format.js';
import { LiveVideoSource } from './video-live.js';

export type { AudioSource, AudioWindow, VideoFrame, VideoSource, WindowFrame } from './types.js';

/** The config sections capture reads (the daemon's config object fits it). */
export interface CaptureConfig {
  audio: { source: string; device: string; file: string; loop: boolean };
  video: { source: string; device: string; file: string; loop: boolean; fps: number; pixelFormat: string };
  sources: { realtime: boolean };
}

export function createAudioSource(cfg: Pick<CaptureConfig, 'audio' | 'sources'>, logger: Logger): AudioSource {
  const { audio } = cfg;
  switch (audio.source) {
    case 'alsa':
      return new AlsaAudioSource({ device: audio.device, logger });
    case 'file':
      return new FileAudioSource({ file: audio.file, loop: audio.loop, realtime: cfg.sources.realtime, logger });
    default:
      throw new Error(`audio.source "${audio.source}" is not supported: use "alsa" or "file".`);
  }
}

/**
 * The sample rate audio comes in at, before it is resampled to 48 kHz: arecord is asked for 48 kHz (ALSA's plug
 * layer converts whatever the card records); a WAV file says its rate in its `fmt ` chunk. null when the file cannot
 * be read (the source reports that itself when it starts).
 */
export function captureSampleRate(audio: Pick<CaptureConfig['audio'], 'source' | 'file'>): number | null {
  if (audio.source === 'alsa') return SAMPLE_RATE;
  let fd: number;
  try {
    fd = openSync(audio.file, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(1 << 16); // the fmt chunk comes before the samples
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return null;
    for (let at = 12; at + 8 <= n; ) {
      const size = head.readUInt32LE(at + 4);
      if (head.toString('ascii', at, at + 4) === 'fmt ') return at + 12 <= n ? head.readUInt32LE(at + 12) : null;
      at += 8 + size + (size % 2);
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a video source is worth opening for a model bundle: not when the bundle uses no image, however video.* is
 * set (decoding a camera nobody looks at costs CPU); said once in the log so nobody wonders why the camera stays idle.
 */
export function videoWanted(source: string, bundle: { name: string; usesImages: boolean }, logger: Logger): boolean {
  if (source === 'none') return false;
  if (bundle.usesImages) return true;
  logger.warn(
    { video: source, bundle: bundle.name },
    `video.source=${source} is not opened: model bundle ${bundle.name} uses no image, so labels come from audio alone (set video.source=none to silence this, or use a bundle with image nets)`,
  );
  return false;
}

/** The video source the config asks for, if the bundle uses images (see videoWanted); `preprocess` as in createVideoSource. */
export function createVideoSourceFor(
  cfg: Pick<CaptureConfig, 'video'>,
  bundle: { name: string; usesImages: boolean },
  logger: Logger,
  preprocess: PreprocessSpec[] = [],
): VideoSource | null {
  return videoWanted(cfg.video.source, bundle, logger) ? createVideoSource(cfg, logger, preprocess) : null;
}

/**
 * null for video.source=none (audio only). Call `start()` on the result before the first window. With `preprocess`
 * (the bundle's image preprocess blocks) frames come preprocessed from the video process; without, as BGR.
 */
export function createVideoSource(
  cfg: Pick<CaptureConfig, 'video'>,
  logger: Logger,
  preprocess: PreprocessSpec[] = [],
): VideoSource | null {
  const { video } = cfg;
  switch (video.source) {
    case 'none':
      return null;
    case 'file':
      if (!video.file)
        throw new Error('video.source is "file" but video.file is empty: set video.file to a video file.');
      return new FileVideoSource({ file: video.file, loop: video.loop, logger, preprocess });
    case 'v4l2':
      return new LiveVideoSource({
        kind: 'v4l2',
        target: video.device,
        fps: video.fps,
        pixelFormat: video.pixelFormat as PixelFormatSetting,
        logger,
        preprocess,
      });
    case 'url':
      return new LiveVideoSource({ kind: 'url', target: video.file, logger, preprocess });
    default:
      throw new Error(`video.source "${video.source}" is not supported: use "v4l2", "file", "url" or "none".`);
  }
}
