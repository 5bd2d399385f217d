/**
 * Image bundles get their frames preprocessed by the video process: the tensors that come back must be exactly the
 * ones the engine's own preprocessing makes of the BGR frame the same source picks (same frame, same values), the
 * next window's frame is decoded ahead while the current one is inferred, and one process serves a series of files
 * (eval's clips). Real OpenCV decoding of real H.264 files made here with ffmpeg.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { PreprocessedFrame, VideoFrame, WindowFrame } from '../../src/capture/types.js';
import { FileVideoSource, VideoProcessKeeper } from '../../src/capture/video-file.js';
import type { PreprocessSpec } from '../../src/video/preprocess.js';
import { preprocessFrame, preprocessKey } from '../../src/video/preprocess.js';
import { loadOpenCV } from '../../src/video/opencv.js';
import { makeVideo, tempDir } from '../helpers/media.js';
import { hasProgram, memoryLogger, windowAt } from './support.js';

const dir = tempDir('avscene-video-preprocess-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two blocks, as a bundle with two image nets may have: one shrinks (INTER_AREA), one enlarges (INTER_LINEAR). */
const BLOCKS: PreprocessSpec[] = [
  { resize: 96, crop: [96, 96], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  { resize: 300, crop: [256, 288], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
];

async function frames(src: FileVideoSource, offsets: number[]): Promise<Array<WindowFrame | null>> {
  await src.start();
  const out: Array<WindowFrame | null> = [];
  for (const [i, m] of offsets.entries()) out.push(await src.frameFor(windowAt(i, m)));
  return out;
}

describe('frames preprocessed in the video process', {
  skip: hasProgram('ffmpeg') ? false : 'ffmpeg not found',
}, () => {
  const video = makeVideo(path.join(dir, 'clip-10.mp4'), 6, 10); // 320x240, 10 fps (a frame at every target), test pattern
  const offsets = [0, 1, 2, 3, 4];

  it('sends, for each window, the tensors the engine makes of the frame a BGR source picks: same frame, same values', async () => {
    const { logger } = memoryLogger();
    const bgr = new FileVideoSource({ file: video, loop: false, logger });
    const pre = new FileVideoSource({ file: video, loop: false, logger, preprocess: BLOCKS });
    try {
      const [plain, prepared] = [await frames(bgr, offsets), await frames(pre, offsets)];
      const cv = await loadOpenCV();
      for (const [i, f] of prepared.entries()) {
        const reference = plain[i] as VideoFrame;
        assert.ok(f && !('bgr' in f), `window ${i}: only tensors cross, not the image`);
        assert.equal(f.timestamp, reference.timestamp, `window ${i}: the same frame is chosen`);
        assert.deepEqual([f.width, f.height], [320, 240]);
        assert.deepEqual(Object.keys(f.tensors).sort(), BLOCKS.map(preprocessKey).sort());
        for (const p of BLOCKS) {
          const expected = preprocessFrame(cv, reference, p);
          assert.deepEqual(f.tensors[preprocessKey(p)], expected, `window ${i}, block ${preprocessKey(p)}`);
        }
      }
    } finally {
      await Promise.all([bgr.stop(), pre.stop()]);
    }
  });

  it('decodes the next window’s frame ahead: consecutive windows are answered from it, each frame decoded once', async () => {
    const src = new FileVideoSource({ file: video, loop: false, logger: memoryLogger().logger, preprocess: BLOCKS });
    try {
      const got = await frames(src, offsets);
      assert.deepEqual(
        got.map((f) => f?.timestamp),
        offsets.map((m) => m + 0.5),
      );
      const stats = await src.stats();
      assert.equal(stats?.prefetched, offsets.length - 1, 'every window after the first was decoded ahead');
      assert.equal(stats?.seeks, 0);
      // the frames up to the one after the prefetched target (5.5 s), once each: not the whole 6-s file twice
      assert.ok(stats!.decoded <= 5.5 * 10 + 2, `decoded ${stats!.decoded} frames`);
    } finally {
      await src.stop();
    }
  });

  it('a target other than the one decoded ahead (the audio looped) still gets its own frame', async () => {
    const src = new FileVideoSource({ file: video, loop: false, logger: memoryLogger().logger, preprocess: BLOCKS });
    try {
      const got = await frames(src, [0, 1, 0, 3]);
      assert.deepEqual(
        got.map((f) => f?.timestamp),
        [0.5, 1.5, 0.5, 3.5],
      );
      assert.equal((await src.stats())?.prefetched, 1);
    } finally {
      await src.stop();
    }
  });

  it('after setPreprocess (a bundle swap) the next frame comes with the new blocks, not the one decoded ahead', async () => {
    const src = new FileVideoSource({
      file: video,
      loop: false,
      logger: memoryLogger().logger,
      preprocess: [BLOCKS[0]!],
    });
    try {
      const [first] = await frames(src, [0]);
      src.setPreprocess([BLOCKS[1]!]);
      const second = await src.frameFor(windowAt(1, 1));
      src.setPreprocess([]);
      const third = await src.frameFor(windowAt(2, 2));
      assert.deepEqual(Object.keys((first as PreprocessedFrame).tensors), [preprocessKey(BLOCKS[0]!)]);
      assert.deepEqual(Object.keys((second as PreprocessedFrame).tensors), [preprocessKey(BLOCKS[1]!)]);
      assert.equal(second!.timestamp, 1.5);
      assert.ok(third && 'bgr' in third && third.bgr.length === 320 * 240 * 3, 'no blocks: the BGR frame');
    } finally {
      await src.stop();
    }
  });

  it('one kept process opens file after file (eval’s clips) and picks each file’s own frames', async () => {
    const other = makeVideo(path.join(dir, 'clip-4.mp4'), 3, 4);
    const keeper = new VideoProcessKeeper();
    const proc = keeper.take();
    const { logger } = memoryLogger();
    try {
      for (const [file, fps] of [
        [video, 10],
        [other, 4],
        [video, 10],
      ] as const) {
        const src = new FileVideoSource({ file, loop: false, logger, preprocess: BLOCKS, processes: keeper });
        const got = await frames(src, [0, 1, 2]);
        await src.stop();
        assert.deepEqual(
          got.map((f) => f?.timestamp),
          [0, 1, 2].map((m) => Math.round((m + 0.5) * fps) / fps), // fps 4 and 10: a frame at every midpoint
          file,
        );
        assert.equal(keeper.take(), proc, 'the same process serves the next file');
        assert.equal(proc.failed, null, 'still running');
      }
    } finally {
      await keeper.close();
    }
    assert.notEqual(proc.failed, null, 'closing the keeper ends the process');
  });
});
