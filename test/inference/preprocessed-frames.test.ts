/**
 * An image bundle fed by a video source that preprocesses in its video process: this process (the daemon's, or
 * classify's) never loads OpenCV — not to open the sessions, not for the warm-up window, not per window — and the
 * labels are exactly those of BGR frames preprocessed here. Real fixture bundle, real ONNX Runtime, real H.264 file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { FileAudioSource } from '../../src/capture/audio-file.js';
import type { AudioWindow } from '../../src/capture/types.js';
import { FileVideoSource } from '../../src/capture/video-file.js';
import { loadBundle, type SceneEngine, type SceneResult } from '../../src/inference/index.js';
import { openWarm } from '../../src/inference/warm-up.js';
import { DEMO_CLIP } from '../../src/util/package-info.js';
import { makeVideo } from '../helpers/media.js';
import { fixtureBundle, NO_TOOLKIT, scratchDir } from './fixture-bundles.js';

const quiet = pino({ level: 'silent' });

/** Whether the OpenCV libraries are mapped into this process (the binding loads them; nothing else here does). */
const openCvLoaded = (): boolean => /libopencv_core/.test(readFileSync('/proc/self/maps', 'utf8'));

async function classifyAll(
  engine: SceneEngine,
  windows: AudioWindow[],
  video: FileVideoSource,
): Promise<SceneResult[]> {
  await video.start();
  const out: SceneResult[] = [];
  try {
    for (const w of windows) out.push(await engine.classify({ audio: w, frame: await video.frameFor(w) }));
  } finally {
    await video.stop();
  }
  return out;
}

test('an image bundle with frames preprocessed in the video process never loads OpenCV here, and labels as with BGR frames', {
  skip: NO_TOOLKIT ?? false,
}, async () => {
  const bundle = await loadBundle(fixtureBundle('av'));
  const clip = makeVideo(path.join(scratchDir(), 'clip.mp4'), 4);
  const windows: AudioWindow[] = [];
  for await (const w of new FileAudioSource({ file: DEMO_CLIP, loop: false, realtime: false, logger: quiet }).windows(
    new AbortController().signal,
  )) {
    windows.push(w);
    if (windows.length === 3) break;
  }
  assert.equal(openCvLoaded(), false, 'nothing has loaded OpenCV yet');
  const { engine } = await openWarm(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  try {
    assert.equal(openCvLoaded(), false, 'opening the sessions and the warm-up window need no OpenCV');
    const preprocess = engine.imagePreprocess;
    assert.equal(preprocess.length, 1, 'the fixture has one image net');
    const prepared = await classifyAll(
      engine,
      windows,
      new FileVideoSource({ file: clip, loop: false, logger: quiet, preprocess }),
    );
    assert.equal(openCvLoaded(), false, 'frames preprocessed by the video process need no OpenCV here');
    for (const r of prepared) {
      assert.deepEqual(r.modalities, ['audio', 'image']);
      assert.equal(r.degraded, false, r.degradedReason);
    }
    // A frame preprocessed for another bundle's image nets (asked for just before a swap): that window goes without its image.
    const stale = await engine.classify({
      audio: windows[0]!,
      frame: { timestamp: 0.5, width: 320, height: 240, tensors: { '[1,[1,1],[0,0,0],[1,1,1]]': new Float32Array(3) } },
    });
    assert.equal(stale.degraded, true);
    assert.match(stale.degradedReason!, /preprocessed for other image nets/);
    assert.equal(openCvLoaded(), false);
    // The same windows with BGR frames, preprocessed here (OpenCV loads now): the same tensors give the same labels.
    const plain = await classifyAll(engine, windows, new FileVideoSource({ file: clip, loop: false, logger: quiet }));
    assert.equal(openCvLoaded(), true, 'BGR frames load OpenCV here (the probe above can see it)');
    for (const [i, r] of plain.entries()) {
      assert.deepEqual(r.modalities, ['audio', 'image']);
      assert.deepEqual(Array.from(prepared[i]!.probs), Array.from(r.probs), `window ${i}`);
      assert.deepEqual(prepared[i]!.heads, r.heads, `window ${i}`);
    }
  } finally {
    await engine.close();
  }
});
