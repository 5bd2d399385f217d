#!/usr/bin/env node
// Eval-time image tensors computed by the daemon's own code: each frame (a PNG/any image OpenCV reads, as BGR) goes
// through matToFrame and preprocessFrame (src/video/frame.ts, src/video/preprocess.ts) with a bundle's
// `preprocess` block — exactly what the engine feeds an image net — and all of them are written as one .npy,
// float32 [N, 3, crop_h, crop_w].
// usage: preprocess-frames.mjs JOB.json   with {"preprocess": {"resize", "crop": [h, w], "mean", "std"}, "frames": [paths], "out": "x.npy"}
// Needs the built daemon (dist/) and the OpenCV binding.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { loadOpenCV } = await import(path.join(repo, 'dist', 'video', 'opencv.js'));
const { matToFrame } = await import(path.join(repo, 'dist', 'video', 'frame.js'));
const { preprocessFrame } = await import(path.join(repo, 'dist', 'video', 'preprocess.js'));
const { writeNpy } = await import(path.join(repo, 'dist', 'features', 'npy.js'));

const job = JSON.parse(await readFile(process.argv[2], 'utf8'));
const cv = await loadOpenCV();
const [h, w] = job.preprocess.crop;
const size = 3 * h * w;
const out = new Float32Array(job.frames.length * size);
job.frames.forEach((file, i) => {
  let mat;
  try {
    mat = cv.imread(file, cv.IMREAD_COLOR); // throws on a missing or undecodable file
  } catch (err) {
    throw new Error(
      `${file}: OpenCV cannot read this image (${err instanceof Error ? err.message : String(err)}): rerun the 'frames' step`,
    );
  }
  try {
    out.set(preprocessFrame(cv, matToFrame(cv, mat, 0), job.preprocess), i * size);
  } finally {
    mat.release();
  }
});
writeNpy(job.out, out, [job.frames.length, 3, h, w]);
