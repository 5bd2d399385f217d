/**
 * Audio from a WAV file: decoded once (audio/wav.ts), converted to 48 kHz stereo per the feature spec
 * (audio/stereo.ts), cut into consecutive exact 1-s windows.
 *
 * - A trailing part shorter than one window is not classified (padding it with silence would change its
 *   features); it is logged once. A file shorter than one window is an error.
 * - `loop` replays the file from its start (each pass drops its own trailing part); `mediaOffset` is the
 *   position in the file, `index` and the wall-clock times keep counting: start = run start + index s.
 * - `realtime` hands out window i once it would have been fully recorded (run start + i + 1 s), like a
 *   microphone; otherwise as fast as the consumer pulls. Windows are produced on demand, so a slow consumer
 *   never makes memory grow. The decoded file is held in memory (48 kHz stereo float: 23 MB per minute).
 */
import { readInputFile } from '../util/input-file.js';
import { SAMPLE_RATE, decodeWav, droppedTail, toStereo48k, wholeWindowCount, windowSamples } from '../audio/index.js';
import { ConfigError } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { sleep } from './retry.js';
import type { AudioSource, AudioWindow } from './types.js';

export interface FileAudioSourceOptions {
  file: string;
  loop: boolean;
  realtime: boolean;
  logger: Logger;
}

export class FileAudioSource implements AudioSource {
  readonly description: string;
  readonly live: boolean;
  private loaded: { left: Float32Array; right: Float32Array } | null = null;

  constructor(private readonly opts: FileAudioSourceOptions) {
    this.live = opts.realtime;
    this.description = `file ${opts.file}${opts.loop ? ' (loop)' : ''}${opts.realtime ? '' : ' (as fast as possible)'}`;
  }

  /** Reads and decodes the file: one that is missing, not a WAV the decoder takes, or too short is a ConfigError (exit 78). */
  async check(): Promise<void> {
    try {
      this.loaded = await this.load();
    } catch (err) {
      const message = (err as Error).message;
      throw new ConfigError(message.startsWith('audio.file') ? message : `audio.file: ${message}`);
    }
  }

  async *windows(signal: AbortSignal): AsyncIterable<AudioWindow> {
    const { left, right } = this.loaded ?? (await this.load());
    this.loaded = null; // a looping file keeps its own reference; nothing else needs to hold 23 MB per minute
    const perPass = wholeWindowCount(left.length);
    const runStart = Date.now();
    let index = 0;
    do {
      for (let k = 0; k < perPass; k++, index++) {
        if (this.opts.realtime) await sleep(runStart + (index + 1) * 1000 - Date.now(), signal);
        if (signal.aborted) return;
        yield {
          index,
          start: new Date(runStart + index * 1000),
          end: new Date(runStart + (index + 1) * 1000),
          mediaOffset: k,
          // Copies: the consumer owns its window (it may outlive this pass of a looping file).
          left: windowSamples(left, k).slice(),
          right: windowSamples(right, k).slice(),
        };
      }
    } while (this.opts.loop && !signal.aborted);
  }

  private async load(): Promise<{ left: Float32Array; right: Float32Array }> {
    const { file, logger } = this.opts;
    let buf: Buffer;
    try {
      buf = await readInputFile(file);
    } catch (err) {
      throw new Error(
        `audio.file "${file}" cannot be used: ${(err as Error).message}; set audio.file to a WAV file, or audio.source to "alsa".`,
        { cause: err },
      );
    }
    const stereo = toStereo48k(decodeWav(buf, file));
    const seconds = stereo.left.length / SAMPLE_RATE;
    if (wholeWindowCount(stereo.left.length) === 0) {
      throw new Error(
        `audio.file "${file}" is ${seconds.toFixed(3)} s long, shorter than one 1-s window: nothing to classify.`,
      );
    }
    const tail = droppedTail(stereo.left.length);
    logger.info(
      {
        file,
        seconds,
        windows: wholeWindowCount(stereo.left.length),
        loop: this.opts.loop,
        realtime: this.opts.realtime,
      },
      'audio file loaded',
    );
    if (tail > 0) {
      logger.info(
        `the last ${tail} sample(s) (${(tail / SAMPLE_RATE).toFixed(3)} s) of ${file} are shorter than a window and are not classified`,
      );
    }
    return stereo;
  }
}
