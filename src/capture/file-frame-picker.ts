/**
 * Picks a video file's frame for each window (runs in the video process): the frame whose timestamp is nearest the
 * target (`window.mediaOffset + 0.5 s`). Decoding only moves forward, holding the last frame at or before the target
 * and the one after it; a target earlier than that (the audio file looped) reopens the file.
 *
 * Reads are synchronous (this process does nothing else meanwhile; readAsync's thread hop costs ~15 % per frame).
 * Every frame up to the target is still decoded and converted: inter-coded video (H.264, HEVC) cannot decode a frame
 * without the ones before it, and OpenCV 4.6's FFmpeg backend can neither grab without converting (the binding has
 * no grab()) nor read gray (CAP_PROP_CONVERT_RGB is refused). Targets far ahead of the current position (the caller
 * skipped many windows) are reached by seeking, which decodes from the nearest keyframe instead.
 */
import { matToFrame } from '../video/frame.js';
import type { CV, Mat, VideoCapture } from '../video/opencv.js';
import type { VideoFrame } from './types.js';

export interface Decoded {
  mat: Mat;
  /** Seconds from the start of the file. */
  ts: number;
}

/** A target this far ahead of the next decoded frame is reached by seeking instead of decoding every frame between. */
export const SEEK_GAP_S = 8;
/** Seeking lands this long before the target, so that the frames around the target are decoded (and timed) in order. */
const SEEK_LEAD_S = 2;

export class FileFramePicker {
  private cap: VideoCapture | undefined;
  /** Seconds between frames (from the container's frame rate). */
  private interval = 0;
  private prev: Decoded | null = null;
  private next: Decoded | null = null;
  /** `prev` is the first frame of the file: nothing lies before it, so a target before it needs no reopening. */
  private isFirst = true;
  /** Exact length in seconds (last frame + one interval), known once the end has been decoded. */
  private duration: number | undefined;
  /** Cleared when a seek failed or landed too late: this file is then only decoded forward. */
  private seekable = true;
  /** Counters for tests and benchmarks: frames decoded, seeks. */
  readonly stats = { decoded: 0, seeks: 0 };

  constructor(
    private readonly cv: CV,
    private readonly file: string,
  ) {}

  /** Opens the file and decodes its first frame; throws when it cannot be opened or holds no decodable frame. */
  open(): { width: number; height: number; fps: number } {
    this.reopen();
    if (this.next === null) {
      this.close();
      throw new Error(
        `video.file "${this.file}" contains no decodable frame: check the file (ffprobe "${this.file}").`,
      );
    }
    return {
      width: this.cap!.get(this.cv.CAP_PROP_FRAME_WIDTH),
      height: this.cap!.get(this.cv.CAP_PROP_FRAME_HEIGHT),
      fps: 1 / this.interval,
    };
  }

  /** The frame nearest `target` media seconds; with `loop` the video repeats (target modulo its length), without, null past its end. */
  pick(target: number, loop: boolean): VideoFrame | null {
    const found = this.frameAt(target, loop);
    return found && matToFrame(this.cv, found.mat, found.ts);
  }

  /** pick() without the copy out: the decoded Mat and its time; the Mat stays the picker's (valid until the next call). */
  frameAt(target: number, loop: boolean): Decoded | null {
    if (!this.cap) throw new Error('FileFramePicker.pick() called before open()');
    return this.find(target, loop);
  }

  close(): void {
    this.prev?.mat.release();
    this.next?.mat.release();
    this.prev = this.next = null;
    this.cap?.release();
    this.cap = undefined;
  }

  private find(target: number, loop: boolean): Decoded | null {
    let t = target;
    if (loop && this.duration !== undefined) t = target % this.duration;
    if (this.prev && !this.isFirst && t < this.prev.ts - this.interval / 2) this.reopen(); // went back: start over
    this.advanceTo(t);
    if (this.next === null && this.prev !== null) {
      this.duration = this.prev.ts + this.interval;
      if (t >= this.duration) {
        if (!loop) return null;
        this.reopen();
        t %= this.duration;
        this.advanceTo(t);
      }
    }
    return this.nearest(t);
  }

  /** Decodes until `prev` is the last frame at or before t (or the file ends). */
  private advanceTo(t: number): void {
    if (this.next !== null && t - this.next.ts > SEEK_GAP_S) this.seek(t - SEEK_LEAD_S);
    while (this.next !== null && (this.prev === null || this.next.ts <= t)) {
      if (this.prev === null && this.next.ts > t) return; // t before the first frame
      if (this.prev) this.isFirst = false;
      this.prev?.mat.release();
      this.prev = this.next;
      this.next = this.read(this.prev.ts);
    }
  }

  private nearest(t: number): Decoded | null {
    const { prev, next } = this;
    if (prev === null) return next;
    if (next === null) return prev;
    return next.ts - t < t - prev.ts ? next : prev;
  }

  /** Reads the next frame; `prevTs` is the previous frame's time (undefined: the first after opening or seeking). */
  private read(prevTs: number | undefined): Decoded | null {
    const cv = this.cv;
    const cap = this.cap!;
    const mat = cap.read();
    if (mat.empty) {
      mat.release();
      return null;
    }
    this.stats.decoded++;
    // POS_MSEC after a read is that frame's presentation time; streams without timestamps report 0, so fall back to the frame rate.
    const pos = cap.get(cv.CAP_PROP_POS_MSEC) / 1000;
    const ts = prevTs === undefined ? pos : pos > prevTs ? pos : prevTs + this.interval;
    return { mat, ts };
  }

  /** Jumps to shortly before `to` seconds; frames are then read in order from wherever the container could land. */
  private seek(to: number): void {
    if (!this.seekable) return;
    const cap = this.cap!;
    this.prev?.mat.release();
    this.next?.mat.release();
    this.prev = null;
    this.isFirst = false;
    this.stats.seeks++;
    const landed = cap.set(this.cv.CAP_PROP_POS_MSEC, to * 1000);
    this.next = landed ? this.read(undefined) : null;
    // Not seekable (some containers), or it landed past the frames around the target: decode forward from the start instead.
    if (this.next === null || this.next.ts > to + SEEK_LEAD_S / 2) {
      this.seekable = false;
      this.reopen();
    }
  }

  private reopen(): void {
    this.close();
    const cv = this.cv;
    try {
      this.cap = new cv.VideoCapture(this.file);
    } catch (err) {
      throw new Error(
        `OpenCV cannot open video.file "${this.file}" (${err instanceof Error ? err.message : String(err)}): is it a video FFmpeg can read?`,
        { cause: err },
      );
    }
    const fps = this.cap.get(cv.CAP_PROP_FPS);
    this.interval = fps > 0 && Number.isFinite(fps) ? 1 / fps : 1 / 25;
    this.isFirst = true;
    this.next = this.read(undefined);
  }
}
