/**
 * No train/serve skew in the image branch: the toolkit's eval-time image tensors (center frames cached by
 * models/scripts/extract-frames.mjs, preprocessed through avscene_models.data.frames.clip_tensors) equal what the
 * daemon computes for the same windows (FileVideoSource.frameFor → preprocessFrame), for a shrinking (INTER_AREA)
 * and an enlarging (INTER_LINEAR) preprocess block.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileVideoSource } from '../../src/capture/video-file.js';
import { loadOpenCV } from '../../src/video/opencv.js';
import { readNpy } from '../helpers/npy.js';
import { preprocessFrame } from '../../src/video/preprocess.js';
import type { PreprocessSpec } from '../../src/video/preprocess.js';
import { createLogger } from '../../src/log/logger.js';
import { lavfiVideo, tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { staleBuild } from '../build-state.mjs';

const PYTHON = '/usr/bin/python3';
const MODELS = path.join(REPO_ROOT, 'models');
const SKIP = !existsSync(PYTHON) ? `${PYTHON} not found (Debian python3-numpy is needed)` : undefined;

const WINDOWS = 3;
const EMPTY = new Float32Array(0);
const IMAGENET = {
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
};
const BLOCKS: Record<string, PreprocessSpec> = {
  shrink: { resize: 72, crop: [64, 64], ...IMAGENET }, // 200x150 → 96x72, INTER_AREA
  enlarge: { resize: 200, crop: [192, 160], ...IMAGENET }, // 200x150 → 266x200, INTER_LINEAR
};

// The toolkit's own path: extract_frames (window count from the feature cache) then clip_tensors.
const TOOLKIT = `
import sys, json
from pathlib import Path
from types import SimpleNamespace
import numpy as np
from avscene_models.data.frames import clip_tensors, extract_frames, frame_paths
cache, video, blocks = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
(cache / "features" / "logmel").mkdir(parents=True)
np.save(cache / "features" / "logmel" / "clip.npy", np.zeros((${WINDOWS}, 6, 2, 256), np.float32))
extract_frames({"clip": SimpleNamespace(id="clip", video=video)}, cache, "node")
print(json.dumps([p.name for p in frame_paths(cache, "clip")]))
# what training reads (PIL, RGB) of window 1
from PIL import Image
with Image.open(frame_paths(cache, "clip")[1]) as im:
    np.save(cache / "train-rgb-1.npy", np.asarray(im.convert("RGB"), dtype=np.float32))
for name, pre in blocks.items():
    [(cid, x)] = list(clip_tensors(cache, ["clip"], pre, "node"))
    np.save(cache / f"{name}.npy", x)
`;

describe('image tensors: toolkit = daemon', () => {
  let dir: string;
  let video: string;
  before(() => {
    if (SKIP) return;
    // The toolkit runs the built daemon code (dist/video/preprocess.js): it must be the code under test.
    const stale = staleBuild();
    assert.equal(stale, null, `dist/ is out of date (${stale}): run npm run build (node test/run.mjs builds first)`);
    dir = tempDir('avscene-frames-');
    video = path.join(dir, 'clip.mp4');
    // Textured, moving, non-square: every window's frame differs and resizing has real work to do.
    lavfiVideo(video, 'testsrc=size=200x150:rate=10,noise=alls=30:allf=t', WINDOWS);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  test("frames cached losslessly at native size, tensors equal the daemon's (max abs diff ≤ 1e-6)", {
    skip: SKIP,
  }, async (t) => {
    const cache = path.join(dir, 'cache');
    writeFileSync(path.join(dir, 'toolkit.py'), TOOLKIT);
    const py = spawnSync(PYTHON, [path.join(dir, 'toolkit.py'), cache, video, JSON.stringify(BLOCKS)], {
      cwd: MODELS,
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: MODELS, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 120_000,
    });
    assert.equal(py.status, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout.trim().split('\n').pop()!), ['0.webp', '1.webp', '2.webp']);

    const cv = await loadOpenCV();
    const cached = cv.imread(path.join(cache, 'frames', 'clip', '1.webp'));
    assert.deepEqual([cached.cols, cached.rows], [200, 150], 'native resolution');
    cached.release();

    const source = new FileVideoSource({ file: video, loop: false, logger: createLogger('warn', 'test', 2) });
    await source.start();
    try {
      for (const [name, block] of Object.entries(BLOCKS)) {
        const toolkit = readNpy(path.join(cache, `${name}.npy`));
        const [h, w] = block.crop;
        assert.deepEqual(toolkit.shape, [WINDOWS, 3, h, w], name);
        const size = 3 * h * w;
        let worst = 0;
        for (let i = 0; i < WINDOWS; i++) {
          const frame = await source.frameFor({
            index: i,
            mediaOffset: i,
            start: new Date(0),
            end: new Date(0),
            left: EMPTY,
            right: EMPTY,
          });
          assert.ok(frame, `window ${i} has a frame`);
          if (i === 1 && name === Object.keys(BLOCKS)[0]) {
            // Lossless: the frame training decodes (PIL, RGB) is the daemon's BGR frame byte for byte.
            const rgb = readNpy(path.join(cache, 'train-rgb-1.npy'));
            assert.deepEqual(rgb.shape, [frame.height, frame.width, 3]);
            let off = 0;
            for (let k = 0; k < frame.width * frame.height; k++)
              off = Math.max(
                off,
                Math.abs(rgb.data[3 * k]! - frame.bgr[3 * k + 2]!),
                Math.abs(rgb.data[3 * k + 2]! - frame.bgr[3 * k]!),
              );
            assert.equal(off, 0, "training frame differs from the daemon's");
          }
          const daemon = preprocessFrame(cv, frame, block);
          const mine = toolkit.data.subarray(i * size, (i + 1) * size);
          for (let k = 0; k < size; k++) worst = Math.max(worst, Math.abs(daemon[k]! - mine[k]!));
          // not a trivial match: the tensor has texture, and windows differ
          const spread = Math.max(...daemon.subarray(0, 4096)) - Math.min(...daemon.subarray(0, 4096));
          assert.ok(spread > 1, `window ${i}: tensor spread ${spread}`);
          if (i > 0) assert.notDeepEqual(mine, toolkit.data.subarray(0, size), `window ${i} differs from window 0`);
        }
        assert.ok(worst <= 1e-6, `${name}: max abs difference ${worst}`);
        t.diagnostic(`${name}: max abs difference ${worst}`);
      }
    } finally {
      await source.stop();
    }
  });
});
