/** The published decision for a window: the engine's result, smoothed when asked, or `unknown` when no head could run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { FileAudioSource } from '../../src/capture/audio-file.js';
import { DEMO_CLIP } from '../../src/util/package-info.js';
import { SceneLabeler } from '../../src/pipeline/scene-labeler.js';
import { loadBundle, SceneEngine } from '../../src/inference/index.js';
import { copyBundle, fixtureBundle, NO_TOOLKIT } from '../inference/fixture-bundles.js';

const quiet = pino({ level: 'silent' });

test('a window no head can classify is published as unknown, not as the first class of a uniform guess', {
  skip: NO_TOOLKIT ?? false,
}, async () => {
  // An audio-visual bundle without fallback heads, and no camera: nothing can run.
  const dir = copyBundle(fixtureBundle('av'));
  const manifestFile = path.join(dir, 'bundle.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  delete manifest.decision.fallback;
  writeFileSync(manifestFile, JSON.stringify(manifest));
  const bundle = await loadBundle(dir);
  const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  try {
    const labeler = new SceneLabeler(engine, bundle, 'test', 3);
    const source = new FileAudioSource({ file: DEMO_CLIP, loop: false, realtime: false, logger: quiet });
    let labelled = 0;
    for await (const window of source.windows(new AbortController().signal)) {
      const message = await labeler.label(window, null);
      assert.equal(message.label, 'unknown');
      assert.equal(message.confidence, 0);
      assert.equal(message.degraded, true);
      assert.deepEqual(message.modalities, []);
      const sum = Object.values(message.probs).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4);
      assert.equal(message.raw?.label, 'unknown');
      assert.equal(message.seq, labelled++);
      if (window.index === 1) break;
    }
    assert.equal(labelled, 2, 'two windows were labelled and checked');
  } finally {
    await engine.close();
  }
});
