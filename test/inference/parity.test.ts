/**
 * End to end against PyTorch: a bundle exported by the toolkit, run by the engine on real audio (the demo recording
 * in the repository, and a TAU clip from the shared data) and a real video file, gives the probabilities PyTorch
 * computes with the same modules on the same features and image tensor (per head and fused, within 1e-4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { FileAudioSource } from '../../src/capture/audio-file.js';
import { FileVideoSource } from '../../src/capture/video-file.js';
import { loadOpenCV } from '../../src/video/opencv.js';
import { DEMO_CLIP } from '../../src/util/package-info.js';
import { FeatureExtractor, FEATURE_KINDS } from '../../src/features/index.js';
import { loadBundle, SceneEngine } from '../../src/inference/index.js';
import { preprocessFrame } from '../../src/video/preprocess.js';
import { makeVideo } from '../helpers/media.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, REPO_ROOT, SHARED_DATA } from '../helpers/paths.js';
import { NO_TOOLKIT, PYTHON, scratchDir } from './fixture-bundles.js';

const quiet = pino({ level: 'silent' });
const SCRIPT = path.join(REPO_ROOT, 'test', 'inference', 'torch-reference.py');
const TAU_CLIP = path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio', 'park-lyon-1144-44031.wav');
const reference = (args: string[]) =>
  execFileSync(PYTHON, [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'models') },
    maxBuffer: 1 << 26,
  });

let exported: { dir: string; video: string } | undefined;
/** The toolkit's reference bundle and a 2-s video, made once for both recordings. */
function referenceBundle(): { dir: string; video: string } {
  if (!exported) {
    const dir = scratchDir('avscene-parity-');
    reference(['export', dir]);
    exported = { dir, video: makeVideo(path.join(dir, 'scene.mp4'), 2) }; // windows 0, 1 have a frame; window 2 does not
  }
  return exported;
}

async function assertParity(audioFile: string, work: string): Promise<void> {
  const { dir: exportDir, video } = referenceBundle();
  const dir = path.join(exportDir, work);
  mkdirSync(dir);
  const bundle = await loadBundle(path.join(exportDir, 'bundle'));

  const cv = await loadOpenCV();
  const extractor = new FeatureExtractor(FEATURE_KINDS);
  const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  const frames = new FileVideoSource({ file: video, loop: false, logger: quiet });
  await frames.start();
  const inputs: Array<{ features: Record<string, string>; image: string | null }> = [];
  const engineResults = [];
  try {
    for await (const w of new FileAudioSource({ file: audioFile, loop: false, realtime: false, logger: quiet }).windows(
      new AbortController().signal,
    )) {
      const frame = await frames.frameFor(w);
      engineResults.push(await engine.classify({ audio: w, frame }));
      // the same inputs, from the same daemon code, for PyTorch
      const feats = extractor.window(w.left, w.right);
      const entry: (typeof inputs)[number] = { features: {}, image: null };
      for (const kind of FEATURE_KINDS) {
        entry.features[kind] = path.join(dir, `w${w.index}-${kind}.f32`);
        writeFileSync(entry.features[kind]!, feats[kind]!);
      }
      if (frame) {
        entry.image = path.join(dir, `w${w.index}-image.f32`);
        writeFileSync(entry.image, preprocessFrame(cv, frame, Object.values(bundle.manifest.imageNets)[0]!.preprocess));
      }
      inputs.push(entry);
      if (inputs.length === 3) break;
    }
  } finally {
    await frames.stop();
    await engine.close();
  }
  writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify({ windows: inputs }));
  const torch = JSON.parse(reference(['predict', exportDir, path.join(dir, 'inputs.json')])) as {
    windows: Array<{ heads: Record<string, number[]>; fused: number[] }>;
  };

  assert.deepEqual(
    engineResults.map((r) => r.modalities.join('+')),
    ['audio+image', 'audio+image', 'audio'],
  );
  let worst = 0;
  engineResults.forEach((r, i) => {
    const t = torch.windows[i]!;
    assert.deepEqual(Object.keys(r.heads).sort(), Object.keys(t.heads).sort(), `window ${i}: same heads`);
    for (const [head, probs] of Object.entries(t.heads))
      probs.forEach((p, c) => (worst = Math.max(worst, Math.abs(p - r.heads[head]![c]!))));
    t.fused.forEach((p, c) => (worst = Math.max(worst, Math.abs(p - r.probs[c]!))));
  });
  assert.ok(worst < 1e-4, `max |engine − PyTorch| = ${worst}`);
  console.log(`# ${path.basename(audioFile)}: max abs difference engine vs PyTorch: ${worst.toExponential(2)}`);
  // the untrained nets must still discriminate: otherwise a constant output would pass trivially
  const spread = Math.max(...engineResults[0]!.probs) - Math.min(...engineResults[0]!.probs);
  assert.ok(spread > 1e-3, `fused probabilities are not flat (spread ${spread})`);
}

test('engine output equals PyTorch on the demo recording (44.1 kHz, resampled) + video (1e-4)', {
  skip: NO_TOOLKIT ?? false,
}, async () => {
  await assertParity(DEMO_CLIP, 'demo');
});

test('engine output equals PyTorch on a real TAU recording + video (1e-4)', {
  skip: NO_TOOLKIT ?? (HAS_SHARED_DATA ? false : NO_SHARED_DATA),
}, async () => {
  await assertParity(TAU_CLIP, 'tau');
});
