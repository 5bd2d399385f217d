/**
 * Image preprocessing of a bundle's `preprocess` block, the torchvision evaluation transform:
 * resize the shorter side to `resize` (aspect kept), center crop `crop` = [h, w], BGR→RGB, x/255, (x − mean)/std,
 * NCHW float32. Resizing uses OpenCV: INTER_AREA when shrinking (an anti-aliased average, close to PIL's and
 * torchvision's antialiased bilinear), INTER_LINEAR when enlarging. The toolkit gets its training images from
 * this same code, so there is no train/serve skew in how a frame becomes a tensor. In the video leaf because both the
 * video process (capture) and the engine (inference) preprocess frames.
 */
import type { CV, Mat } from './opencv.js';
import type { VideoFrame } from './frame.js';

/** A bundle's `preprocess` block for one image net (models/BUNDLE.md): the bundle manifest names it for each net. */
export interface PreprocessSpec {
  resize: number;
  crop: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
}

/** Output size of "resize shorter side to `resize`", rounded like torchvision (int() of the scaled long side). */
export function resizedSize(width: number, height: number, resize: number): { width: number; height: number } {
  if (width <= height) return { width: resize, height: Math.floor((resize * height) / width) };
  return { width: Math.floor((resize * width) / height), height: resize };
}

/** Stable key for a preprocess block: nets with equal blocks share one preprocessed tensor. */
export function preprocessKey(p: PreprocessSpec): string {
  return JSON.stringify([p.resize, p.crop, p.mean, p.std]);
}

/** Turns one BGR frame into the `[1, 3, h, w]` tensor data a net with this preprocess block expects. */
export function preprocessFrame(cv: CV, frame: VideoFrame, p: PreprocessSpec): Float32Array {
  if (frame.bgr.length !== frame.width * frame.height * 3) {
    throw new RangeError(
      `video frame ${frame.width}x${frame.height} has ${frame.bgr.length} bytes, expected ${frame.width * frame.height * 3} (8-bit BGR)`,
    );
  }
  const src = new cv.Mat(frame.bgr, frame.height, frame.width, cv.CV_8UC3);
  try {
    return preprocessMat(cv, src, p);
  } finally {
    src.release();
  }
}

/** preprocessFrame on an 8-bit BGR Mat (the video process preprocesses the decoded Mat without copying it out first). */
export function preprocessMat(cv: CV, src: Mat, p: PreprocessSpec): Float32Array {
  const [cropH, cropW] = p.crop;
  const size = resizedSize(src.cols, src.rows, p.resize);
  if (size.width < cropW || size.height < cropH) {
    throw new RangeError(
      `frame ${src.cols}x${src.rows} resized to ${size.width}x${size.height} is smaller than the crop ${cropW}x${cropH}`,
    );
  }
  let pixels: Buffer;
  if (size.width === src.cols && size.height === src.rows) {
    pixels = src.getData();
  } else {
    const shrinking = size.width < src.cols;
    const resized = src.resize(size.height, size.width, 0, 0, shrinking ? cv.INTER_AREA : cv.INTER_LINEAR);
    pixels = resized.getData();
    resized.release();
  }
  const stride = size.width * 3;

  // torchvision CenterCrop: top = round((H − h) / 2), left = round((W − w) / 2)
  const top = Math.round((size.height - cropH) / 2);
  const left = Math.round((size.width - cropW) / 2);
  const plane = cropH * cropW;
  const out = new Float32Array(3 * plane);
  // Output channel c (RGB) reads byte 2 − c of each BGR pixel.
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * p.std[c]!);
    const offset = p.mean[c]! / p.std[c]!;
    const base = c * plane;
    for (let y = 0; y < cropH; y++) {
      let src8 = (top + y) * stride + left * 3 + (2 - c);
      const row = base + y * cropW;
      for (let x = 0; x < cropW; x++, src8 += 3) out[row + x] = pixels[src8]! * scale - offset;
    }
  }
  return out;
}

/**
 * The tensor preprocessFrame gives for a frame whose pixels all have the value `gray` (any size: resizing a uniform
 * image changes nothing), without OpenCV: the warm-up window's image.
 */
export function uniformTensor(gray: number, p: PreprocessSpec): Float32Array {
  const plane = p.crop[0] * p.crop[1];
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * p.std[c]!);
    const offset = p.mean[c]! / p.std[c]!;
    out.fill(gray * scale - offset, c * plane, (c + 1) * plane);
  }
  return out;
}
