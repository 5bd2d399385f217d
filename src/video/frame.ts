/**
 * The image the pipeline works on, shared by capture (which produces it) and inference (which preprocesses it), and
 * the Mat → VideoFrame copy: a BGR Buffer the rest of the pipeline owns; the Mat stays with, and is released by, its
 * source.
 */
import type { CV, Mat } from './opencv.js';

/** One decoded video frame, 8-bit BGR, row-major HWC (as OpenCV delivers it). */
export interface VideoFrame {
  /** Frame time on the clock of the window it belongs to: media seconds (files) or wall-clock ms since epoch (live). */
  timestamp: number;
  width: number;
  height: number;
  bgr: Buffer;
}

/**
 * A frame already turned, in the video process, into the tensors a bundle's image nets take (keyed by
 * `preprocessKey` of their preprocess block): a few hundred kB cross the process boundary instead of a whole BGR
 * image, and the daemon never loads OpenCV. `width`/`height` are the decoded frame's.
 */
export interface PreprocessedFrame {
  timestamp: number;
  width: number;
  height: number;
  tensors: Record<string, Float32Array>;
}

/** What a video source hands out for a window: the image itself, or (image bundles) its preprocessed tensors. */
export type WindowFrame = VideoFrame | PreprocessedFrame;

/** The Mat as 3-channel BGR: itself, or a converted copy the caller releases (a few V4L2 drivers and GStreamer pipelines deliver gray or BGRA). */
export function bgrMat(cv: CV, mat: Mat): Mat {
  if (mat.channels === 1) return mat.cvtColor(cv.COLOR_GRAY2BGR);
  if (mat.channels === 4) return mat.cvtColor(cv.COLOR_BGRA2BGR);
  return mat;
}

export function matToFrame(cv: CV, mat: Mat, timestamp: number): VideoFrame {
  const bgr = bgrMat(cv, mat);
  try {
    return { timestamp, width: bgr.cols, height: bgr.rows, bgr: bgr.getData() };
  } finally {
    if (bgr !== mat) bgr.release();
  }
}
