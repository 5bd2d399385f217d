/**
 * Images from a video file, on the audio's media clock: the frame for a window is the one whose timestamp is
 * nearest `window.mediaOffset + 0.5 s` (file-frame-picker.ts, which decodes only what it must). Decoding runs in a
 * video process of its own (video-process.ts) with a time limit per window: a file that hangs (a stale network
 * mount) costs the image of that window, not the daemon; the process is then restarted for the next window.
 * With `loop` the video repeats (target modulo its duration); without, windows past its end get null.
 */
import { access } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import type { AudioWindow, VideoFrame, VideoSource } from './types.js';
import type { OpenedInfo, WireFrame } from './video-protocol.js';
import { VideoProcess, VideoTimeout } from './video-process.js';

export interface FileVideoSourceOptions {
  file: string;
  loop: boolean;
  logger: Logger;
  /** Opening (probing the container, decoding the first frame, once OpenCV is loaded) may take this long. Default 15000 ms. */
  openTimeoutMs?: number;
  /** Decoding up to one window's frame may take this long. Default 5000 ms. */
  pickTimeoutMs?: number;
}

export class FileVideoSource implements VideoSource {
  readonly description: string;
  private proc: VideoProcess | undefined;
  private readonly openTimeoutMs: number;
  private readonly pickTimeoutMs: number;
  private stopped = false;
  /** A window went without its image: warned once, then quiet until a frame comes again. */
  private failing = false;
  /** frameFor() calls run one after another: the picker's state is shared. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: FileVideoSourceOptions) {
    this.description = `file ${opts.file}${opts.loop ? ' (loop)' : ''}`;
    this.openTimeoutMs = opts.openTimeoutMs ?? 15_000;
    this.pickTimeoutMs = opts.pickTimeoutMs ?? 5000;
  }

  async start(): Promise<void> {
    try {
      await access(this.opts.file);
    } catch {
      throw new Error(
        `video.file "${this.opts.file}" does not exist or cannot be read: set video.file to a video file, or video.source to "none".`,
      );
    }
    const info = await this.open();
    this.opts.logger.info({ file: this.opts.file, ...info, loop: this.opts.loop }, 'video file opened');
  }

  frameFor(window: AudioWindow): Promise<VideoFrame | null> {
    const result = this.queue.then(() => this.pick(window));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.proc?.kill();
    this.proc = undefined;
  }

  private async open(): Promise<OpenedInfo> {
    const proc = new VideoProcess();
    this.proc = proc;
    try {
      await proc.ready();
      return await proc.request<OpenedInfo>(
        { op: 'open', target: { kind: 'file', file: this.opts.file } },
        this.openTimeoutMs,
      );
    } catch (err) {
      await proc.kill();
      if (this.proc === proc) this.proc = undefined;
      if (err instanceof VideoTimeout) {
        throw new Error(
          `video.file "${this.opts.file}" did not open within ${this.openTimeoutMs / 1000} s (${err.message}): is it on a mount that hangs?`,
        );
      }
      throw err;
    }
  }

  private async pick(window: AudioWindow): Promise<VideoFrame | null> {
    if (this.stopped) return null;
    try {
      if (!this.proc) await this.open(); // after a window that timed out
      const wire = await this.proc!.request<WireFrame | null>(
        { op: 'pick', at: window.mediaOffset + 0.5, loop: this.opts.loop },
        this.pickTimeoutMs,
      );
      if (this.failing) {
        this.failing = false;
        this.opts.logger.info(`video file ${this.opts.file} gives images again`);
      }
      return wire && { ...wire, bgr: Buffer.from(wire.bgr.buffer, wire.bgr.byteOffset, wire.bgr.byteLength) };
    } catch (err) {
      if (this.stopped) return null;
      // The picker's state is lost with the process: the next window starts a fresh one, which seeks to its frame.
      const reason = (err as Error).message;
      if (this.failing) this.opts.logger.debug({ window: window.index, reason }, 'video file still gives no image');
      else {
        this.opts.logger.warn(
          { file: this.opts.file, window: window.index, reason },
          `video file ${this.opts.file}: no image for window ${window.index} (${reason}); windows are labelled from audio alone until it gives images again`,
        );
      }
      this.failing = true;
      await this.proc?.kill();
      this.proc = undefined;
      return null;
    }
  }
}
