/**
 * Images from a live camera: V4L2 (/dev/videoN, USB/CSI cameras with a V4L2 driver), a network stream (RTSP/HTTP
 * through FFmpeg) or a GStreamer pipeline ending in appsink (e.g. a Jetson CSI camera through nvarguscamerasrc).
 *
 * The camera is read in a video process of its own (video-child.ts, live-frame-ring.ts), which keeps a short ring
 * of recent frames stamped with the wall clock; `frameFor` asks it for the one nearest the window's midpoint (for an
 * image bundle, its preprocessed tensors) and waits at most `frameTimeoutMs`. Call it as soon as the window arrives: the ring only covers the last few seconds.
 * OpenCV's open and read block on a camera that accepts the connection and never sends a frame; here that blocks
 * only the video process, which is killed when it takes longer than `openTimeoutMs` to open or sends no frame for
 * `stallMs`. A camera that disappears is reported once, windows get null meanwhile, and a fresh process reopens it
 * with backoff; its return is logged.
 */
import { access } from 'node:fs/promises';
import { maskSecrets } from '../config/secrets.js';
import type { PreprocessSpec } from '../video/preprocess.js';
import type { Logger } from '../log/logger.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './retry.js';
import type { PixelFormatSetting } from './v4l2-format.js';
import { isPipeline, probe, streamTargetProblem, type LiveKind } from './stream-target.js';
import type { AudioWindow, SourceCondition, VideoSource, WindowFrame } from './types.js';
import { fromWire, type OpenedInfo, type VideoEvent, type WireFrame } from './video-protocol.js';
import { VideoProcess, VideoTimeout } from './video-process.js';

export interface LiveVideoSourceOptions {
  kind: LiveKind;
  /** v4l2: a device path (/dev/video0) or index; url: rtsp://, http(s)://, rtmp://… or a GStreamer pipeline ending in appsink. */
  target: string;
  logger: Logger;
  /** V4L2: frame rate asked of the camera (the driver picks the nearest it offers). Default 1 (its lowest rate). */
  fps?: number;
  /** V4L2: pixel format asked of the camera (video.pixelFormat, see v4l2-format.ts). Default auto. */
  pixelFormat?: PixelFormatSetting;
  /** Seconds of frames kept. Default 3. */
  ringSeconds?: number;
  /** Keep at most one frame per this many ms (a 30 fps camera does not need 90 frames held). Default 100. */
  minSpacingMs?: number;
  /** A window whose midpoint is farther than this from every kept frame gets null. Default 1000. */
  maxSkewMs?: number;
  /** No frame for this long while open counts as the camera being gone. Default 5000. */
  stallMs?: number;
  /** Opening may take this long before the camera counts as hung. Default 10000. */
  openTimeoutMs?: number;
  /** A window waits this long for its frame from the video process. Default 500. */
  frameTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** The preprocess blocks of the bundle's image nets: frames come as their tensors (see setPreprocess). Default none: BGR frames. */
  preprocess?: PreprocessSpec[];
}

export class LiveVideoSource implements VideoSource {
  readonly description: string;
  private readonly log: Logger;
  private readonly stallMs: number;
  private readonly openTimeoutMs: number;
  private readonly frameTimeoutMs: number;
  private readonly maxSkewMs: number;
  /** How often the video process reports its last frame, and the watchdog looks: a quarter of the stall limit, at most 1 s. */
  private readonly watchEveryMs: number;
  /** The current video process (opening or reading), and whether it has opened the camera. */
  private proc: VideoProcess | undefined;
  private opened = false;
  /** A video process whose last open failed with an answer (not a hang): the next attempt reuses it, OpenCV loaded. */
  private spare: VideoProcess | undefined;
  private down = false;
  private state: SourceCondition = { state: 'opening', since: Date.now() };
  private readonly stopping = new AbortController();
  private runner: Promise<void> | undefined;
  private preprocess: PreprocessSpec[];

  constructor(private readonly opts: LiveVideoSourceOptions) {
    this.description = `${opts.kind} ${maskSecrets(opts.target)}`;
    this.log = opts.logger.child({ camera: this.description });
    this.stallMs = opts.stallMs ?? 5000;
    this.openTimeoutMs = opts.openTimeoutMs ?? 10_000;
    this.frameTimeoutMs = opts.frameTimeoutMs ?? 500;
    this.maxSkewMs = opts.maxSkewMs ?? 1000;
    this.watchEveryMs = Math.min(1000, this.stallMs / 4);
    this.preprocess = opts.preprocess ?? [];
  }

  /** Frames from now on come as the tensors of these preprocess blocks (empty: BGR), e.g. after a bundle swap. */
  setPreprocess(preprocess: PreprocessSpec[]): void {
    this.preprocess = preprocess;
  }

  /** Throws only for a setting that cannot work; the camera itself is opened in the background (null frames until then). */
  async start(): Promise<void> {
    this.validate();
    if (this.stopping.signal.aborted) return;
    this.runner = this.keepOpen();
  }

  /** opening until the first frame, up while frames come, waiting (with the reason) from a failure until frames come again. */
  condition(): SourceCondition {
    return this.state;
  }

  async frameFor(window: AudioWindow): Promise<WindowFrame | null> {
    const proc = this.proc;
    if (this.down || !proc || !this.opened) return null; // nothing to ask while the camera is opening
    const mid = (window.start.getTime() + window.end.getTime()) / 2;
    try {
      const wire = await proc.request<WireFrame | null>(
        { op: 'nearest', at: mid, maxSkewMs: this.maxSkewMs, preprocess: this.preprocess },
        this.frameTimeoutMs,
      );
      return fromWire(wire);
    } catch {
      return null; // a stuck or dying process: the watchdog in keepOpen() deals with it
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([this.proc?.kill(), this.spare?.kill()]);
    await this.runner;
    await this.spare?.kill(); // kept by a session that ended while stopping
  }

  private validate(): void {
    const problem = streamTargetProblem(this.opts.kind, this.opts.target);
    if (problem !== null) throw new Error(problem);
  }

  /** Opens the camera in a video process, watches it, and replaces it (with backoff) whenever it fails. */
  private async keepOpen(): Promise<void> {
    const signal = this.stopping.signal;
    const backoff = new Backoff(this.opts.backoff ?? DEFAULT_BACKOFF);
    while (!signal.aborted) {
      const problem = await this.session(backoff);
      if (signal.aborted) break;
      const delay = backoff.next();
      this.markDown(problem, Date.now() + delay);
      await sleep(delay, signal);
    }
  }

  /** One video process, from opening until it fails; returns what went wrong. */
  private async session(backoff: Backoff): Promise<string> {
    const unavailable = await this.precheck();
    if (unavailable) return unavailable;
    let lastFrameAt = 0; // none yet
    let downReason: string | undefined;
    const onEvent = (ev: VideoEvent): void => {
      if (ev.event === 'alive') lastFrameAt = ev.lastFrameAt;
      else downReason = ev.reason;
    };
    const proc = this.spare && !this.spare.failed ? this.spare : new VideoProcess();
    this.spare = undefined;
    proc.onEvent = onEvent;
    this.proc = proc;
    let reusable = false;
    try {
      const { kind, target } = this.opts;
      const ringMs = (this.opts.ringSeconds ?? 3) * 1000;
      await proc.ready();
      const info = await proc
        .request<OpenedInfo>(
          {
            op: 'open',
            target: {
              kind,
              target,
              fps: this.opts.fps ?? 1,
              pixelFormat: this.opts.pixelFormat ?? 'auto',
              minSpacingMs: this.opts.minSpacingMs ?? 100,
              ringMs,
              aliveEveryMs: this.watchEveryMs,
            },
          },
          this.openTimeoutMs,
        )
        .catch((err: Error) => {
          if (err instanceof VideoTimeout)
            throw new Error(
              `it did not open within ${this.openTimeoutMs / 1000} s (a camera that accepts the connection but sends nothing?)`,
            );
          reusable = !proc.failed; // OpenCV said no and the process is idle again
          throw err;
        });
      if (this.stopping.signal.aborted) return 'stopped';
      this.opened = true;
      this.log.info(info, 'camera opened');
      if (info.refused) {
        this.log.warn(
          { asked: info.refused, got: info.pixelFormat },
          `camera ${this.description} does not deliver ${info.refused} at ${info.width}x${info.height} (video.pixelFormat=${this.opts.pixelFormat}); it goes on in ${info.pixelFormat}. \`v4l2-ctl -d ${this.opts.target} --list-formats-ext\` lists what it offers; video.pixelFormat=auto picks for you.`,
        );
      }
      const openedAt = Date.now();
      // Watch for a stall: the process reports its last frame every second (unless it is stuck itself).
      for (;;) {
        await Promise.race([proc.exited, sleep(this.watchEveryMs, this.stopping.signal)]);
        if (this.stopping.signal.aborted) return 'stopped';
        if (proc.failed) return downReason ?? proc.failed.message;
        // The last frame time is at most one report old: allow for that, or a healthy camera would look stalled.
        if (Date.now() - Math.max(lastFrameAt, openedAt) > this.stallMs + this.watchEveryMs)
          return `no frame for ${(this.stallMs / 1000).toFixed(0)} s`;
        if (lastFrameAt > 0) {
          backoff.reset();
          this.markUp();
        }
      }
    } catch (err) {
      return (err as Error).message;
    } finally {
      this.opened = false;
      if (this.proc === proc) this.proc = undefined;
      if (reusable && !this.stopping.signal.aborted) this.spare = proc;
      else await proc.kill();
    }
  }

  /** Cheap checks before starting a process: the device node exists, the stream's host accepts a connection. */
  private async precheck(): Promise<string | undefined> {
    const { kind, target } = this.opts;
    if (kind === 'v4l2' && target.startsWith('/dev/')) {
      try {
        await access(target);
      } catch {
        return `${target} does not exist (camera unplugged? check video.device; \`v4l2-ctl --list-devices\` lists cameras)`;
      }
    }
    if (kind === 'url' && !isPipeline(target)) return probe(target);
    return undefined;
  }

  private markDown(reason: string, retryAt: number): void {
    this.state = { state: 'waiting', since: Date.now(), reason, retryAt };
    if (this.down) {
      this.log.debug({ reason }, 'camera still unavailable');
      return;
    }
    this.down = true;
    this.log.warn(
      { reason },
      `camera ${this.description} is unavailable: ${reason}. Windows get no image (labels from audio alone) until it is back; reopening with backoff.`,
    );
  }

  private markUp(): void {
    if (this.state.state !== 'up') this.state = { state: 'up', since: Date.now() };
    if (!this.down) return;
    this.down = false;
    this.log.info(`camera ${this.description} is back`);
  }
}
