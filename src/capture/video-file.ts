/**
 * Images from a video file, on the audio's media clock: the frame for a window is the one whose timestamp is
 * nearest `window.mediaOffset + 0.5 s` (file-frame-picker.ts, which decodes only what it must). Decoding runs in a
 * video process of its own (video-process.ts) with a time limit per window: a file that hangs (a stale network
 * mount) costs the image of that window, not the daemon; the process is then restarted for the next window.
 * With `loop` the video repeats (target modulo its duration); without, windows past its end get null.
 * For an image bundle (`preprocess`) the process sends the frame's tensors instead of the frame, and decodes the
 * next window's frame while this one is inferred.
 */
import { access } from 'node:fs/promises';
import type { PreprocessSpec } from '../video/preprocess.js';
import type { Logger } from '../log/logger.js';
import type { AudioWindow, VideoSource, WindowFrame } from './types.js';
import { fromWire, type FilePickStats, type OpenedInfo, type WireFrame } from './video-protocol.js';
import { VideoProcess, VideoTimeout } from './video-process.js';

/** Windows are this long and follow each other: the next window's target is this much after the current one's. */
const WINDOW_S = 1;

/**
 * One video process for a series of files (`avscene eval`'s clips): each source opens its file in the process the
 * previous one used, instead of starting a process and loading OpenCV per clip. A process that was killed (a file
 * that hung) is replaced by the next source that asks.
 */
export class VideoProcessKeeper {
  private proc: VideoProcess | undefined;

  /** The kept process, started if there is none or the last one is gone. */
  take(): VideoProcess {
    if (!this.proc || this.proc.failed) this.proc = new VideoProcess();
    return this.proc;
  }

  async close(): Promise<void> {
    await this.proc?.kill();
    this.proc = undefined;
  }
}

export interface FileVideoSourceOptions {
  file: string;
  loop: boolean;
  logger: Logger;
  /** Opening (probing the container, decoding the first frame, once OpenCV is loaded) may take this long. Default 15000 ms. */
  openTimeoutMs?: number;
  /** Decoding up to one window's frame may take this long. Default 5000 ms. */
  pickTimeoutMs?: number;
  /** The preprocess blocks of the bundle's image nets: frames come as their tensors (see setPreprocess). Default none: BGR frames. */
  preprocess?: PreprocessSpec[];
  /** Open the file in this keeper's process (and leave the process running at stop) instead of a process of its own. */
  processes?: VideoProcessKeeper;
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
  private preprocess: PreprocessSpec[];

  constructor(private readonly opts: FileVideoSourceOptions) {
    this.description = `file ${opts.file}${opts.loop ? ' (loop)' : ''}`;
    this.openTimeoutMs = opts.openTimeoutMs ?? 15_000;
    this.pickTimeoutMs = opts.pickTimeoutMs ?? 5000;
    this.preprocess = opts.preprocess ?? [];
  }

  /** Frames from now on come as the tensors of these preprocess blocks (empty: BGR), e.g. after a bundle swap. */
  setPreprocess(preprocess: PreprocessSpec[]): void {
    this.preprocess = preprocess;
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

  frameFor(window: AudioWindow): Promise<WindowFrame | null> {
    const result = this.queue.then(() => this.pick(window));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** What decoding has cost so far (benchmarks, tests); null while no process has the file open. */
  async stats(): Promise<FilePickStats | null> {
    await this.queue;
    return this.proc ? this.proc.request<FilePickStats>({ op: 'stats' }, this.pickTimeoutMs) : null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const proc = this.proc;
    this.proc = undefined;
    if (!proc) return;
    if (!this.opts.processes) return proc.kill();
    // A kept process stays for the next file; one that does not let go of this file in time is killed (and replaced).
    await this.queue;
    await proc.request({ op: 'close' }, this.pickTimeoutMs).catch(() => proc.kill());
  }

  private async open(): Promise<OpenedInfo> {
    const proc = this.opts.processes?.take() ?? new VideoProcess();
    this.proc = proc;
    try {
      await proc.ready();
      return await proc.request<OpenedInfo>(
        { op: 'open', target: { kind: 'file', file: this.opts.file } },
        this.openTimeoutMs,
      );
    } catch (err) {
      // A kept process that answered (a file OpenCV cannot read) serves the next file; one that hung does not.
      if (err instanceof VideoTimeout || !this.opts.processes) await proc.kill();
      if (this.proc === proc) this.proc = undefined;
      if (err instanceof VideoTimeout) {
        throw new Error(
          `video.file "${this.opts.file}" did not open within ${this.openTimeoutMs / 1000} s (${err.message}): is it on a mount that hangs?`,
        );
      }
      throw err;
    }
  }

  private async pick(window: AudioWindow): Promise<WindowFrame | null> {
    if (this.stopped) return null;
    try {
      if (!this.proc) await this.open(); // after a window that timed out
      const at = window.mediaOffset + WINDOW_S / 2;
      const wire = await this.proc!.request<WireFrame | null>(
        { op: 'pick', at, loop: this.opts.loop, preprocess: this.preprocess, prefetch: at + WINDOW_S },
        this.pickTimeoutMs,
      );
      if (this.failing) {
        this.failing = false;
        this.opts.logger.info(`video file ${this.opts.file} gives images again`);
      }
      return fromWire(wire);
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
