/**
 * Messages between a video source (daemon side) and its video process (video-child.ts), which owns the OpenCV capture.
 * OpenCV opens, reads and closes synchronously or on threads it cannot cancel; in a process of their own a hung
 * camera blocks only that process, which the daemon kills when it stops answering.
 */
import type { PreprocessSpec } from '../video/preprocess.js';
import type { PreprocessedFrame, WindowFrame } from '../video/frame.js';
import type { PixelFormatSetting } from './v4l2-format.js';

/**
 * What to open. `fps` and `pixelFormat` (V4L2 only): the frame rate and pixel format asked of the camera (see
 * v4l2-format.ts); the driver picks the nearest it offers.
 */
export type VideoTarget =
  | { kind: 'file'; file: string }
  /** `aliveEveryMs`: how often the process reports its last frame time (a fraction of the daemon's stall limit). */
  | {
      kind: 'v4l2' | 'url';
      target: string;
      fps: number;
      pixelFormat: PixelFormatSetting;
      minSpacingMs: number;
      ringMs: number;
      aliveEveryMs: number;
    };

/**
 * `preprocess`: the preprocess blocks of the bundle's image nets. Empty: the frame comes back as BGR; otherwise only
 * its tensors, one per block (see PreprocessedFrame).
 */
export type VideoRequest =
  /** Opens a source; a file replaces the file open before (one process serves a series of clips). */
  | { op: 'open'; id: number; target: VideoTarget }
  /**
   * File: the frame nearest `at` media seconds (null past the end of a video that does not loop). With `prefetch`,
   * the process goes on, once the answer is sent, to decode and preprocess the frame for that target (the next
   * window's), while the daemon infers this one.
   */
  | { op: 'pick'; id: number; at: number; loop: boolean; preprocess: PreprocessSpec[]; prefetch?: number }
  /** Live: the kept frame nearest `at` wall-clock ms, if within `maxSkewMs`. */
  | { op: 'nearest'; id: number; at: number; maxSkewMs: number; preprocess: PreprocessSpec[] }
  /** Releases the open file (the process stays, OpenCV loaded, for the next one). */
  | { op: 'close'; id: number }
  /** File: how much work the open file has cost so far (FilePickStats). */
  | { op: 'stats'; id: number };

/** Frames decoded and seeks since the file was opened, and picks answered with the frame decoded ahead. */
export interface FilePickStats {
  decoded: number;
  seeks: number;
  prefetched: number;
}

/** Unnumbered request (Omit distributed over the union). */
export type VideoCall = VideoRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export interface OpenedInfo {
  width: number;
  height: number;
  fps: number;
  /** V4L2: the pixel format the camera delivers, and the one it refused (an explicit video.pixelFormat), if it did. */
  pixelFormat?: string;
  refused?: string;
}

/** A frame as it crosses the process boundary (structured clone turns the Buffer into a Uint8Array). */
export type WireFrame = { timestamp: number; width: number; height: number; bgr: Uint8Array } | PreprocessedFrame;

/** The frame a source hands out: a BGR Buffer over the bytes that came, or the tensors as they came. */
export function fromWire(wire: WireFrame | null): WindowFrame | null {
  if (wire === null || !('bgr' in wire)) return wire;
  return { ...wire, bgr: Buffer.from(wire.bgr.buffer, wire.bgr.byteOffset, wire.bgr.byteLength) };
}

export type VideoReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Unsolicited news from a live capture: `alive` periodically while it runs, `down` once before the process exits. */
export type VideoEvent = { event: 'alive'; lastFrameAt: number } | { event: 'down'; reason: string };

/** Sent once OpenCV is loaded (or failed to load): time limits on opening start only then, since loading takes seconds on a busy board. */
export type VideoReady = { event: 'ready'; error?: string };

export type VideoMessage = VideoReply | VideoEvent | VideoReady;
