/**
 * Reads a live camera in the video process and keeps a short ring of recent frames stamped with the wall clock;
 * the daemon asks for the one nearest a window's midpoint. Reads run on OpenCV's own thread (readAsync), so this
 * process keeps answering while a read waits for the camera. Any sign that the camera is gone (a read error,
 * repeated empty frames) ends the capture: the daemon is told why and starts a fresh process later.
 */
import type { CV, Mat, VideoCapture } from '../video/opencv.js';
import { isPipeline } from './stream-target.js';
import { configureV4l2 } from './v4l2-format.js';
import type { OpenedInfo, VideoTarget } from './video-protocol.js';

type LiveTarget = Extract<VideoTarget, { kind: 'v4l2' | 'url' }>;

export interface Stamped {
  mat: Mat;
  /** Wall-clock ms when the frame was read. */
  ts: number;
}

const EMPTY_READS_BEFORE_GIVING_UP = 3;

export class LiveFrameRing {
  private cap: VideoCapture | undefined;
  private ring: Stamped[] = [];
  private stopped = false;
  /** Wall-clock ms of the last frame read; 0 until the first. */
  lastFrameAt = 0;

  constructor(
    private readonly cv: CV,
    private readonly target: LiveTarget,
  ) {}

  /** Opens the camera (blocks this process until OpenCV returns: the daemon bounds it by killing the process). */
  open(): OpenedInfo {
    const { cv, target } = this;
    const t = target.target;
    try {
      this.cap =
        target.kind === 'v4l2'
          ? new cv.VideoCapture(/^\d+$/.test(t) ? Number(t) : t, cv.CAP_V4L2)
          : new cv.VideoCapture(t, isPipeline(t) ? cv.CAP_GSTREAMER : cv.CAP_FFMPEG);
    } catch (err) {
      throw new Error(`OpenCV cannot open it (${err instanceof Error ? err.message : String(err)})`);
    }
    if (target.kind === 'v4l2') {
      // The model needs one frame per second: the cheapest pixel format, then the lowest rate (the driver rounds to one it offers).
      const props = {
        FOURCC: cv.CAP_PROP_FOURCC,
        FRAME_WIDTH: cv.CAP_PROP_FRAME_WIDTH,
        FRAME_HEIGHT: cv.CAP_PROP_FRAME_HEIGHT,
        FPS: cv.CAP_PROP_FPS,
      };
      return configureV4l2(this.cap, props, target.pixelFormat, target.fps);
    }
    return {
      width: this.cap.get(cv.CAP_PROP_FRAME_WIDTH),
      height: this.cap.get(cv.CAP_PROP_FRAME_HEIGHT),
      fps: this.cap.get(cv.CAP_PROP_FPS),
    };
  }

  /** Reads until the camera fails; resolves with why it stopped. */
  async run(): Promise<string> {
    let emptyReads = 0;
    while (!this.stopped) {
      let mat: Mat;
      try {
        mat = await this.cap!.readAsync();
      } catch (err) {
        return `read failed (${err instanceof Error ? err.message : String(err)})`;
      }
      if (mat.empty) {
        mat.release();
        if (++emptyReads >= EMPTY_READS_BEFORE_GIVING_UP) {
          return this.target.kind === 'url'
            ? 'the stream ended or stopped sending frames'
            : 'the camera delivers no frames';
        }
        continue;
      }
      emptyReads = 0;
      this.keep(mat);
    }
    return 'stopped';
  }

  /** The kept frame nearest `at` (wall-clock ms), or null when none is within `maxSkewMs`; the Mat stays the ring's. */
  nearest(at: number, maxSkewMs: number): Stamped | null {
    let best: Stamped | undefined;
    for (const f of this.ring) if (!best || Math.abs(f.ts - at) < Math.abs(best.ts - at)) best = f;
    if (!best || Math.abs(best.ts - at) > maxSkewMs) return null;
    return best;
  }

  private keep(mat: Mat): void {
    const now = Date.now();
    this.lastFrameAt = now;
    const last = this.ring[this.ring.length - 1];
    if (last && now - last.ts < this.target.minSpacingMs) {
      mat.release();
    } else {
      this.ring.push({ mat, ts: now });
    }
    while (this.ring.length > 0 && now - this.ring[0]!.ts > this.target.ringMs) this.ring.shift()!.mat.release();
  }
}
