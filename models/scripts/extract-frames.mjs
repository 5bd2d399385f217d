#!/usr/bin/env node
// Center frames of every 1-s window, picked by the daemon's own FileVideoSource (the frame nearest the window's
// midpoint, on the media clock), written as lossless WebP at the video's own resolution: OUT_DIR/<window>.webp holds
// exactly the BGR bytes the daemon's image preprocessing (src/video/preprocess.ts) would receive for that window
// (lossless: decoding gives those bytes back; about half the size of PNG, see models/README.md).
// usage: extract-frames.mjs JOBS.json   with {"jobs": [{"video", "outDir", "windows"}]}
// Needs the built daemon (dist/) and the OpenCV binding. Prints one line per finished job.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { FileVideoSource } = await import(path.join(repo, 'dist', 'capture', 'video-file.js'));
const { loadOpenCV } = await import(path.join(repo, 'dist', 'video', 'opencv.js'));
const { createLogger } = await import(path.join(repo, 'dist', 'log', 'logger.js'));

const spec = JSON.parse(await readFile(process.argv[2], 'utf8'));
const cv = await loadOpenCV();
const logger = createLogger('warn', 'extract-frames', 2);

for (const job of spec.jobs) {
  const source = new FileVideoSource({ file: job.video, loop: false, logger });
  await source.start();
  await mkdir(job.outDir, { recursive: true });
  let written = 0;
  try {
    for (let w = 0; w < job.windows; w++) {
      const frame = await source.frameFor({
        index: w,
        mediaOffset: w,
        start: new Date(0),
        end: new Date(0),
        left: null,
        right: null,
      });
      if (frame === null) break; // video shorter than the audio: later windows have no frame
      const mat = new cv.Mat(frame.bgr, frame.height, frame.width, cv.CV_8UC3);
      // WebP quality above 100 selects libwebp's lossless mode.
      cv.imwrite(path.join(job.outDir, `${w}.webp`), mat, [cv.IMWRITE_WEBP_QUALITY, 101]);
      mat.release();
      written++;
    }
  } finally {
    await source.stop();
  }
  process.stdout.write(JSON.stringify({ video: job.video, frames: written }) + '\n');
}
