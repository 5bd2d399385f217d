/**
 * Video file source on videos made here with ffmpeg whose frames show their own index (8 black/white blocks = 8 bits),
 * decoded by the real OpenCV binding: the frame handed out for window i must be the one nearest (i + 0.5) s.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createVideoSource } from '../../src/capture/index.js';
import type { VideoFrame } from '../../src/capture/types.js';
import { FileVideoSource } from '../../src/capture/video-file.js';
import { tempDir } from '../helpers/media.js';
import { ffmpeg, hasProgram, memoryLogger, windowAt } from './support.js';

const dir = tempDir('avscene-capture-video-');
after(() => rmSync(dir, { recursive: true, force: true }));

const W = 64;
const H = 16;

/** A video of `frames` frames at `fps` (e.g. "25/2") whose frame k shows k in binary, one 8-px block per bit. */
function indexVideo(
  name: string,
  fps: string,
  frames: number,
  codec: string[] = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
): string {
  const file = path.join(dir, name);
  const pattern = `color=black:s=${W}x${H}:r=${fps},format=gray,geq=lum='255*mod(trunc(N/pow(2\\,trunc(X/8)))\\,2)'`;
  ffmpeg(['-f', 'lavfi', '-i', pattern, '-frames:v', String(frames), ...codec, file]);
  return file;
}

function frameIndex(f: VideoFrame): number {
  assert.equal(f.width, W);
  assert.equal(f.height, H);
  assert.equal(f.bgr.length, W * H * 3);
  let k = 0;
  for (let bit = 0; bit < 8; bit++) if (f.bgr[(8 * W + bit * 8 + 4) * 3]! > 128) k |= 1 << bit;
  return k;
}

/** Brute force: the frame nearest t among frames k / fps, k < count (t wrapped with loop; null past the end without). */
function expected(t: number, fps: number, count: number, loop: boolean): number | null {
  const duration = count / fps;
  if (t >= duration) {
    if (!loop) return null;
    t %= duration;
  }
  let best = 0;
  for (let k = 1; k < count; k++) if (Math.abs(k / fps - t) < Math.abs(best / fps - t)) best = k;
  return best;
}

async function picked(src: FileVideoSource, offsets: number[]): Promise<Array<number | null>> {
  const out: Array<number | null> = [];
  for (const [i, m] of offsets.entries()) {
    const f = await src.frameFor(windowAt(i, m));
    out.push(f === null ? null : frameIndex(f));
  }
  return out;
}

async function started(file: string, loop = false): Promise<FileVideoSource> {
  const src = new FileVideoSource({ file, loop, logger: memoryLogger().logger });
  await src.start();
  return src;
}

describe('file video source', { skip: hasProgram('ffmpeg') ? false : 'ffmpeg not found' }, () => {
  const formats: Array<[string, string[]]> = [
    ['mp4', ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']],
    ['mkv', ['-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p']],
  ];
  for (const [ext, codec] of formats) {
    it(`picks the frame nearest each window's midpoint (12.5 fps ${ext}: frames 6, 19, 31 …)`, async () => {
      const src = await started(indexVideo(`idx-12.5.${ext}`, '25/2', 75, codec));
      const offsets = [0, 1, 2, 3, 4, 5];
      const got = await picked(src, offsets);
      assert.deepEqual(
        got,
        offsets.map((m) => expected(m + 0.5, 12.5, 75, false)),
      );
      assert.deepEqual(got, [6, 19, 31, 44, 56, 69]);
      const f = await src.frameFor(windowAt(9, 2));
      assert.equal(f!.timestamp, 31 / 12.5, 'frame timestamps are media seconds');
      await src.stop();
    });
  }

  it('gives null for windows after the end of a video shorter than the audio', async () => {
    const src = await started(indexVideo('short.mp4', '25/2', 30)); // 2.4 s
    assert.deepEqual(await picked(src, [0, 1, 2, 3, 4]), [6, 19, null, null, null]);
    await src.stop();
  });

  it('wraps around with loop (target modulo the video length)', async () => {
    const src = await started(indexVideo('short-loop.mp4', '25/2', 30), true);
    const offsets = [0, 1, 2, 3, 4, 5, 6, 7];
    assert.deepEqual(
      await picked(src, offsets),
      offsets.map((m) => expected(m + 0.5, 12.5, 30, true)),
    );
    await src.stop();
  });

  it('follows the audio back to the start when the audio file loops (media offset goes back to 0)', async () => {
    const src = await started(indexVideo('idx-10.mp4', '10', 40));
    assert.deepEqual(await picked(src, [0, 1, 2, 0, 1, 3]), [5, 15, 25, 5, 15, 35]);
    await src.stop();
  });

  it('answers overlapping calls in order and the same window twice with the same frame', async () => {
    const src = await started(indexVideo('idx-10b.mp4', '10', 40));
    const frames = await Promise.all([2, 0, 2, 3].map((m, i) => src.frameFor(windowAt(i, m))));
    assert.deepEqual(
      frames.map((f) => frameIndex(f!)),
      [25, 5, 25, 35],
    );
    await src.stop();
  });

  it('refuses a missing file and a file that is not a video, with the key and the fix', async () => {
    await assert.rejects(
      started(path.join(dir, 'missing.mp4')),
      /video\.file ".*missing\.mp4" does not exist .* video\.source to "none"/,
    );
    const bogus = path.join(dir, 'bogus.mp4');
    writeFileSync(bogus, 'this is not a video\n');
    await assert.rejects(started(bogus), /video\.file ".*bogus\.mp4"/);
  });

  it('is built by createVideoSource for video.source=file, and none gives no source', () => {
    const { logger } = memoryLogger();
    const base = { device: '/dev/video0', file: '/v.mp4', loop: false };
    assert.ok(createVideoSource({ video: { ...base, source: 'file' } }, logger) instanceof FileVideoSource);
    assert.equal(createVideoSource({ video: { ...base, source: 'none' } }, logger), null);
    assert.throws(
      () => createVideoSource({ video: { ...base, source: 'file', file: '' } }, logger),
      /video\.file is empty/,
    );
  });
});
