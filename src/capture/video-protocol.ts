/**
 * Messages between a video source (daemon side) and its video process (video-child.ts), which owns the OpenCV capture.
 * OpenCV opens, reads and closes synchronously or on threads it cannot cancel; in a process of their own a hung
 * camera blocks only that process, which the daemon kills when it stops answering.
 */

/** What to open. `fps` (V4L2 only) is the frame rate asked of the camera; the driver picks the nearest it offers. */
export type VideoTarget =
  | { kind: 'file'; file: string }
  /** `aliveEveryMs`: how often the process reports its last frame time (a fraction of the daemon's stall limit). */
  | { kind: 'v4l2' | 'url'; target: string; fps: number; minSpacingMs: number; ringMs: number; aliveEveryMs: number };

export type VideoRequest =
  | { op: 'open'; id: number; target: VideoTarget }
  /** File: the frame nearest `at` media seconds (null past the end of a video that does not loop). */
  | { op: 'pick'; id: number; at: number; loop: boolean }
  /** Live: the kept frame nearest `at` wall-clock ms, if within `maxSkewMs`. */
  | { op: 'nearest'; id: number; at: number; maxSkewMs: number };

/** Unnumbered request (Omit distributed over the union). */
export type VideoCall = VideoRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export interface OpenedInfo {
  width: number;
  height: number;
  fps: number;
}

/** A frame as it crosses the process boundary (structured clone turns the Buffer into a Uint8Array). */
export interface WireFrame {
  timestamp: number;
  width: number;
  height: number;
  bgr: Uint8Array;
}

export type VideoReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Unsolicited news from a live capture: `alive` periodically while it runs, `down` once before the process exits. */
export type VideoEvent = { event: 'alive'; lastFrameAt: number } | { event: 'down'; reason: string };

/** Sent once OpenCV is loaded (or failed to load): time limits on opening start only then, since loading takes seconds on a busy board. */
export type VideoReady = { event: 'ready'; error?: string };

export type VideoMessage = VideoReply | VideoEvent | VideoReady;
