/**
 * The image the pipeline works on, shared by capture (which produces it) and inference (which preprocesses it), and
 * Mat → VideoFrame: a BGR Buffer the rest of the pipeline owns; the Mat stays with, and is released by, its source.
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

export function matToFrame(cv: CV, mat: Mat, timestamp: number): VideoFrame {
  // VideoCapture converts to BGR by default; a few V4L2 drivers and GStreamer pipelines still deliver gray or BGRA.
  let bgr = mat;
  if (mat.channels === 1) bgr = mat.cvtColor(cv.COLOR_GRAY2BGR);
  else if (mat.channels === 4) bgr = mat.cvtColor(cv.COLOR_BGRA2BGR);
  try {
    return { timestamp, width: bgr.cols, height: bgr.rows, bgr: bgr.getData() };
  } finally {
    if (bgr !== mat) bgr.release();
  }
}
