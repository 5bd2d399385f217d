/**
 * Images from a video file, on the audio's media clock: the frame for a window is the one whose timestamp is
 * nearest `window.mediaOffset + 0.5 s`. Decoding only moves forward (two Mats held: the last frame at or before
 * the target and the one after it); a target earlier than that (the audio file looped) reopens the file.
 * With `loop` the video repeats (target modulo its duration); without, windows past its end get null.
 */
import { access } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import { matToFrame } from '../video/frame.js';
import { loadOpenCV, type CV, type Mat, type VideoCapture } from '../video/opencv.js';
import type { AudioWindow, VideoFrame, VideoSource } from './types.js';

export interface FileVideoSourceOptions {
  file: string;
  loop: boolean;
  logger: Logger;
}

interface Decoded {
  mat: Mat;
  /** Seconds from the start of the file. */
  ts: number;
}

export class FileVideoSource implements VideoSource {
  readonly description: string;
  private cv: CV | undefined;
  private cap: VideoCapture | undefined;
  /** Seconds between frames (from the container's frame rate). */
  private interval = 0;
  /** The last decoded frame at or before the previous target, and the one after it (null at the end of the file). */
  private prev: Decoded | null = null;
  private next: Decoded | null = null;
  private isFirst = true;
  /** Exact length in seconds (last frame + one interval), known once the end has been decoded. */
  private duration: number | undefined;
  /** frameFor() calls run one after another: decoding state is shared. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: FileVideoSourceOptions) {
    this.description = `file ${opts.file}${opts.loop ? ' (loop)' : ''}`;
  }

  async start(): Promise<void> {
    try {
      await access(this.opts.file);
    } catch {
      throw new Error(
        `video.file "${this.opts.file}" does not exist or cannot be read: set video.file to a video file, or video.source to "none".`,
      );
    }
    this.cv = await loadOpenCV();
    await this.open();
    if (this.next === null) {
      await this.stop();
      throw new Error(
        `video.file "${this.opts.file}" contains no decodable frame: check the file (ffprobe "${this.opts.file}").`,
      );
    }
    this.opts.logger.info(
      {
        file: this.opts.file,
        fps: 1 / this.interval,
        width: this.next.mat.cols,
        height: this.next.mat.rows,
        loop: this.opts.loop,
      },
      'video file opened',
    );
  }

  frameFor(window: AudioWindow): Promise<VideoFrame | null> {
    const result = this.queue.then(() => this.pick(window.mediaOffset + 0.5));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async stop(): Promise<void> {
    await this.queue;
    this.close();
  }

  private async pick(target: number): Promise<VideoFrame | null> {
    if (!this.cap) throw new Error('FileVideoSource.frameFor() called before start()');
    let t = target;
    if (this.opts.loop && this.duration !== undefined) t = target % this.duration;
    if (this.prev && !this.isFirst && t < this.prev.ts - this.interval / 2) await this.open(); // went back: start over
    await this.advanceTo(t);
    if (this.next === null && this.prev !== null) {
      this.duration = this.prev.ts + this.interval;
      if (t >= this.duration) {
        if (!this.opts.loop) return null;
        await this.open();
        t %= this.duration;
        await this.advanceTo(t);
      }
    }
    const nearest = this.nearest(t);
    return nearest ? matToFrame(this.cv!, nearest.mat, nearest.ts) : null;
  }

  /** Decodes until `prev` is the last frame at or before t (or the file ends). */
  private async advanceTo(t: number): Promise<void> {
    while (this.next !== null && (this.prev === null || this.next.ts <= t)) {
      if (this.prev === null && this.next.ts > t) return; // t before the first frame
      if (this.prev) this.isFirst = false;
      this.prev?.mat.release();
      this.prev = this.next;
      this.next = await this.read(this.prev.ts);
    }
  }

  private nearest(t: number): Decoded | null {
    const { prev, next } = this;
    if (prev === null) return next;
    if (next === null) return prev;
    return next.ts - t < t - prev.ts ? next : prev;
  }

  private async read(prevTs: number | undefined): Promise<Decoded | null> {
    const cv = this.cv!;
    const mat = await this.cap!.readAsync();
    if (mat.empty) {
      mat.release();
      return null;
    }
    // POS_MSEC after a read is that frame's presentation time; streams without timestamps report 0, so fall back to the frame rate.
    const pos = this.cap!.get(cv.CAP_PROP_POS_MSEC) / 1000;
    const ts = prevTs === undefined ? pos : pos > prevTs ? pos : prevTs + this.interval;
    return { mat, ts };
  }

  private async open(): Promise<void> {
    this.close();
    const cv = this.cv!;
    try {
      this.cap = new cv.VideoCapture(this.opts.file);
    } catch (err) {
      throw new Error(
        `OpenCV cannot open video.file "${this.opts.file}" (${err instanceof Error ? err.message : String(err)}): is it a video FFmpeg can read?`,
        { cause: err },
      );
    }
    const fps = this.cap.get(cv.CAP_PROP_FPS);
    this.interval = fps > 0 && Number.isFinite(fps) ? 1 / fps : 1 / 25;
    this.isFirst = true;
    this.next = await this.read(undefined);
  }

  private close(): void {
    this.prev?.mat.release();
    this.next?.mat.release();
    this.prev = this.next = null;
    this.cap?.release();
    this.cap = undefined;
  }
}
