/**
 * Images from a live camera: V4L2 (/dev/videoN, USB/CSI cameras with a V4L2 driver), a network stream (RTSP/HTTP
 * through FFmpeg) or a GStreamer pipeline ending in appsink (e.g. a Jetson CSI camera through nvarguscamerasrc).
 *
 * A background reader (readAsync, off the event loop) keeps a short ring of recent frames stamped with the wall clock;
 * `frameFor` picks the one nearest the window's midpoint. Call it as soon as the window arrives: the ring only covers
 * the last few seconds. A camera that disappears (open failure, read errors, empty frames, no frames for a while) is
 * reported once, windows get null meanwhile, and it is reopened with backoff; its return is logged.
 */
import { access } from 'node:fs/promises';
import { maskSecrets } from '../config/secrets.js';
import type { Logger } from '../log/logger.js';
import { matToFrame } from '../video/frame.js';
import { loadOpenCV, type CV, type Mat, type VideoCapture } from '../video/opencv.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './retry.js';
import { isPipeline, probe, streamTargetProblem, type LiveKind } from './stream-target.js';
import type { AudioWindow, VideoFrame, VideoSource } from './types.js';

export interface LiveVideoSourceOptions {
  kind: LiveKind;
  /** v4l2: a device path (/dev/video0) or index; url: rtsp://, http(s)://, rtmp://… or a GStreamer pipeline ending in appsink. */
  target: string;
  logger: Logger;
  /** Seconds of frames kept. Default 3. */
  ringSeconds?: number;
  /** Keep at most one frame per this many ms (a 30 fps camera does not need 90 frames held). Default 100. */
  minSpacingMs?: number;
  /** A window whose midpoint is farther than this from every kept frame gets null. Default 1000. */
  maxSkewMs?: number;
  /** No frame for this long while open counts as the camera being gone. Default 5000. */
  stallMs?: number;
  backoff?: BackoffOptions;
}

interface Stamped {
  mat: Mat;
  /** Wall-clock ms when the frame was read. */
  ts: number;
}

const EMPTY_READS_BEFORE_REOPEN = 3;
const STOP_WAIT_MS = 1000;

export class LiveVideoSource implements VideoSource {
  readonly description: string;
  private readonly log: Logger;
  private readonly ringMs: number;
  private readonly minSpacingMs: number;
  private readonly maxSkewMs: number;
  private readonly stallMs: number;
  private cv: CV | undefined;
  private cap: VideoCapture | undefined;
  private ring: Stamped[] = [];
  private down = false;
  private lastFrameAt = 0;
  private readonly stopping = new AbortController();
  private reader: Promise<void> | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LiveVideoSourceOptions) {
    this.description = `${opts.kind} ${maskSecrets(opts.target)}`;
    this.log = opts.logger.child({ camera: this.description });
    this.ringMs = (opts.ringSeconds ?? 3) * 1000;
    this.minSpacingMs = opts.minSpacingMs ?? 100;
    this.maxSkewMs = opts.maxSkewMs ?? 1000;
    this.stallMs = opts.stallMs ?? 5000;
  }

  /** Throws only for a setting that cannot work; a camera that is merely absent now is retried in the background. */
  async start(): Promise<void> {
    this.validate();
    this.cv = await loadOpenCV();
    if (this.stopping.signal.aborted) return; // stop() came while OpenCV loaded: start nothing it would not stop
    this.reader = this.readLoop();
    this.watchdog = setInterval(
      () => {
        if (!this.down && this.cap && Date.now() - this.lastFrameAt > this.stallMs) {
          this.markDown(`no frame for ${(this.stallMs / 1000).toFixed(0)} s`);
        }
      },
      Math.min(this.stallMs, 1000),
    );
    this.watchdog.unref();
  }

  async frameFor(window: AudioWindow): Promise<VideoFrame | null> {
    if (this.down) return null;
    const mid = (window.start.getTime() + window.end.getTime()) / 2;
    let best: Stamped | undefined;
    for (const f of this.ring) if (!best || Math.abs(f.ts - mid) < Math.abs(best.ts - mid)) best = f;
    if (!best || Math.abs(best.ts - mid) > this.maxSkewMs) return null;
    return matToFrame(this.cv!, best.mat, best.ts);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.watchdog);
    // A read blocked on a dead stream can take FFmpeg's 30 s timeout; shutdown does not wait for it (the loop releases when it returns).
    if (!this.reader) return;
    const gaveUp = new AbortController();
    await Promise.race([this.reader, sleep(STOP_WAIT_MS, gaveUp.signal)]);
    gaveUp.abort(); // do not keep the process alive for the rest of the wait
  }

  private validate(): void {
    const problem = streamTargetProblem(this.opts.kind, this.opts.target);
    if (problem !== null) throw new Error(problem);
  }

  private async readLoop(): Promise<void> {
    const signal = this.stopping.signal;
    const backoff = new Backoff(this.opts.backoff ?? DEFAULT_BACKOFF);
    let emptyReads = 0;
    while (!signal.aborted) {
      if (!this.cap) {
        const problem = await this.open();
        if (problem !== undefined) {
          this.markDown(problem);
          await sleep(backoff.next(), signal);
          continue;
        }
      }
      let mat: Mat;
      try {
        mat = await this.cap!.readAsync();
      } catch (err) {
        this.reopenLater(`read failed (${err instanceof Error ? err.message : String(err)})`);
        await sleep(backoff.next(), signal);
        continue;
      }
      if (signal.aborted) {
        mat.release();
        break;
      }
      if (mat.empty) {
        mat.release();
        if (++emptyReads >= EMPTY_READS_BEFORE_REOPEN) {
          emptyReads = 0;
          this.reopenLater(
            this.opts.kind === 'url' ? 'the stream ended or stopped sending frames' : 'the camera delivers no frames',
          );
          await sleep(backoff.next(), signal);
        }
        continue;
      }
      emptyReads = 0;
      backoff.reset();
      this.keep(mat);
      this.markUp();
    }
    this.closeCapture();
    this.clearRing();
  }

  /** Opens the capture; returns what went wrong, or undefined. */
  private async open(): Promise<string | undefined> {
    const cv = this.cv!;
    const { kind, target } = this.opts;
    if (kind === 'v4l2' && target.startsWith('/dev/')) {
      try {
        await access(target);
      } catch {
        return `${target} does not exist (camera unplugged? check video.device; \`v4l2-ctl --list-devices\` lists cameras)`;
      }
    }
    if (kind === 'url' && !isPipeline(target)) {
      // Opening is synchronous in OpenCV and can block the event loop up to FFmpeg's 30 s timeout; do not try when the host is not even reachable.
      const unreachable = await probe(target);
      if (unreachable) return unreachable;
    }
    try {
      this.cap =
        kind === 'v4l2'
          ? new cv.VideoCapture(/^\d+$/.test(target) ? Number(target) : target, cv.CAP_V4L2)
          : new cv.VideoCapture(target, isPipeline(target) ? cv.CAP_GSTREAMER : cv.CAP_FFMPEG);
    } catch (err) {
      return `OpenCV cannot open it (${err instanceof Error ? err.message : String(err)})`;
    }
    this.lastFrameAt = Date.now();
    this.log.info(
      {
        width: this.cap.get(cv.CAP_PROP_FRAME_WIDTH),
        height: this.cap.get(cv.CAP_PROP_FRAME_HEIGHT),
        fps: this.cap.get(cv.CAP_PROP_FPS),
      },
      'camera opened',
    );
    return undefined;
  }

  private keep(mat: Mat): void {
    const now = Date.now();
    this.lastFrameAt = now;
    const last = this.ring[this.ring.length - 1];
    if (last && now - last.ts < this.minSpacingMs) {
      mat.release();
    } else {
      this.ring.push({ mat, ts: now });
    }
    while (this.ring.length > 0 && now - this.ring[0]!.ts > this.ringMs) this.ring.shift()!.mat.release();
  }

  private reopenLater(reason: string): void {
    this.markDown(reason);
    this.closeCapture();
  }

  private markDown(reason: string): void {
    // Frames from before the outage must not be paired with windows after it.
    this.clearRing();
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
    if (!this.down) return;
    this.down = false;
    this.log.info(`camera ${this.description} is back`);
  }

  private closeCapture(): void {
    this.cap?.release();
    this.cap = undefined;
  }

  private clearRing(): void {
    for (const f of this.ring) f.mat.release();
    this.ring = [];
  }
}
