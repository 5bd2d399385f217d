import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { FileAudioSource } from '../../src/capture/audio-file.js';
import { FileVideoSource } from '../../src/capture/video-file.js';
import type { AudioWindow } from '../../src/capture/types.js';
import { DEMO_CLIP } from '../../src/util/package-info.js';
import { EngineFailure, loadBundle, SceneEngine, type SceneResult } from '../../src/inference/index.js';
import { makeVideo } from '../helpers/media.js';
import { copyBundle, fixtureBundle, NO_TOOLKIT, scratchDir } from './fixture-bundles.js';

const skip = NO_TOOLKIT ?? false;
const quiet = pino({ level: 'silent' });

/** A logger whose JSON lines the test can read. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function windowsOf(file: string, count: number): Promise<AudioWindow[]> {
  const out: AudioWindow[] = [];
  for await (const w of new FileAudioSource({ file, loop: false, realtime: false, logger: quiet }).windows(
    new AbortController().signal,
  )) {
    out.push(w);
    if (out.length === count) break;
  }
  return out;
}

/** Weighted mean of the heads' probabilities, computed here from the manifest's weights. */
function handFused(result: SceneResult, weights: Record<string, number>): number[] {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  return result.classes.map(
    (_, c) => Object.entries(weights).reduce((s, [h, w]) => s + w * result.heads[h]![c]!, 0) / total,
  );
}

let av = '';
before(() => {
  if (!skip) av = fixtureBundle('av');
});

test('asking for TensorRT then CUDA: each session runs on the first that loads here (CPU when neither does), and the log says why the others did not', {
  skip,
}, async () => {
  const { logger, lines } = recordingLogger();
  const engine = await SceneEngine.create(await loadBundle(fixtureBundle('audio')), {
    providers: 'tensorrt,cuda',
    threads: 1,
    logger,
  });
  await engine.close();
  const order = ['tensorrt', 'cuda', 'cpu'];
  const installed = lines.find((l) => l.msg === 'onnxruntime-node execution providers');
  assert.ok(installed, 'the log lists the providers the installed onnxruntime-node offers');
  assert.deepEqual(installed.order, order);
  assert.ok(installed.installed.includes('cpu'));
  // On a CPU-only machine both GPU providers fail and everything runs on CPU; on a GPU host the first that loads wins.
  assert.ok(engine.sessions.length > 0);
  const got = engine.sessions[0]!.provider;
  for (const s of engine.sessions)
    assert.equal(s.provider, got, `${s.key} runs on ${s.provider}, ${engine.sessions[0]!.key} on ${got}`);
  if (!existsSync('/dev/nvidia0') && !existsSync('/dev/nvhost-ctrl-gpu'))
    assert.equal(got, 'cpu', 'no GPU here (no NVIDIA or Jetson GPU device)');
  const warnings = lines.filter((l) => l.level === 40 && /is not usable here/.test(l.msg));
  assert.deepEqual(
    warnings.map((w) => w.provider).sort(),
    order.slice(0, order.indexOf(got)).sort(),
    'one warning per provider before it, none after',
  );
  assert.ok(
    warnings.every((w) => typeof w.reason === 'string' && w.reason.length > 0),
    'each warning gives the reason',
  );
  for (const s of engine.sessions)
    assert.ok(
      lines.some((l) => l.msg === `session ${s.key} runs on ${got}`),
      `${s.key} logs the provider it got`,
    );
});

test('audio + video: shared nets, fused heads, then audio-only fallback when the video ends early', {
  skip,
}, async () => {
  const dir = scratchDir();
  const video = makeVideo(path.join(dir, 'clip.mp4'), 2); // frames for windows 0 and 1 (midpoints 0.5 s, 1.5 s) only
  const windows = await windowsOf(DEMO_CLIP, 4);
  const bundle = await loadBundle(av);
  const { logger, lines } = recordingLogger();
  const engine = await SceneEngine.create(bundle, { providers: 'auto', threads: 1, logger });
  const source = new FileVideoSource({ file: video, loop: false, logger: quiet });
  await source.start();
  const results: SceneResult[] = [];
  try {
    for (const w of windows) results.push(await engine.classify({ audio: w, frame: await source.frameFor(w) }));
  } finally {
    await source.stop();
    await engine.close();
  }
  const m = bundle.manifest;
  const [full, , , late] = results as [SceneResult, SceneResult, SceneResult, SceneResult];
  assert.deepEqual(full.modalities, ['audio', 'image']);
  assert.equal(full.degraded, false);
  assert.deepEqual(Object.keys(full.heads).sort(), Object.keys(m.decision.weights).sort());
  // each net ran once per window: one timing per net, one preprocessing, one feature pass
  assert.deepEqual(
    Object.keys(full.timings)
      .filter((k) => k.includes(':'))
      .sort(),
    [...Object.keys(m.audioNets).map((k) => `audio:${k}`), ...Object.keys(m.imageNets).map((k) => `image:${k}`)].sort(),
  );
  assert.ok(full.timings.features! > 0 && full.timings.preprocess! > 0);
  handFused(full, m.decision.weights).forEach((p, c) => assert.ok(Math.abs(p - full.probs[c]!) < 1e-9));
  assert.equal(full.label, m.classes[full.probs.indexOf(Math.max(...full.probs))]);

  assert.deepEqual(late.modalities, ['audio']);
  assert.equal(late.fallback, 'audio');
  assert.equal(late.degraded, false, 'the bundle has audio-only fallback heads');
  assert.deepEqual(Object.keys(late.heads).sort(), Object.keys(m.decision.fallback!.audio!).sort());
  assert.ok(!Object.keys(late.timings).some((k) => k.startsWith('image:')), 'no image work without a frame');
  handFused(late, m.decision.fallback!.audio!).forEach((p, c) => assert.ok(Math.abs(p - late.probs[c]!) < 1e-9));
  assert.ok(!lines.some((l) => l.msg === 'scene label degraded'));
});

test('without fallback heads a missing frame gives a degraded result, never a crash', { skip }, async () => {
  const dir = copyBundle(av);
  const file = path.join(dir, 'bundle.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  delete manifest.decision.fallback;
  writeFileSync(file, JSON.stringify(manifest));
  const { logger, lines } = recordingLogger();
  const engine = await SceneEngine.create(await loadBundle(dir), { providers: 'cpu', threads: 1, logger });
  try {
    const [w] = await windowsOf(DEMO_CLIP, 1);
    const noFrame = await engine.classify({ audio: w!, frame: null });
    assert.equal(noFrame.degraded, true);
    assert.match(noFrame.degradedReason!, /no video frame, and the bundle has no heads that work on audio alone/);
    assert.equal(noFrame.label, 'unknown');
    assert.deepEqual(noFrame.modalities, [], 'no head could use the audio alone');
    const nothing = await engine.classify({ audio: null, frame: null });
    assert.equal(nothing.degraded, true);
    assert.deepEqual(nothing.modalities, []);
    // a broken frame (wrong buffer size) degrades instead of throwing
    const broken = await engine.classify({
      audio: w!,
      frame: { timestamp: 0.5, width: 64, height: 48, bgr: Buffer.alloc(10) },
    });
    assert.equal(broken.degraded, true);
    assert.match(broken.degradedReason!, /image preprocessing .* failed: video frame 64x48 has 10 bytes/);
    assert.equal(lines.filter((l) => l.msg === 'scene label degraded').length, 3, 'logged once per change of reason');
  } finally {
    await engine.close();
  }
});

test('an engine whose worker thread is gone refuses to classify (a restart is the fix), instead of degrading forever', {
  skip,
}, async () => {
  const engine = await SceneEngine.create(await loadBundle(av), {
    providers: 'cpu',
    threads: 1,
    logger: recordingLogger().logger,
  });
  const [w] = await windowsOf(DEMO_CLIP, 1);
  await engine.classify({ audio: w!, frame: null });
  await engine.close();
  await assert.rejects(engine.classify({ audio: w!, frame: null }), (err: Error) => {
    assert.ok(err instanceof EngineFailure);
    assert.match(err.message, /inference engine stopped working .*restart avscene/);
    return true;
  });
});

test('heads with weight 0 and the nets only they use are not loaded', { skip }, async () => {
  const dir = copyBundle(av);
  const file = path.join(dir, 'bundle.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  const fusion = Object.keys(manifest.decision.weights);
  manifest.decision.weights[fusion[0]] = 0;
  delete manifest.decision.fallback.image;
  writeFileSync(file, JSON.stringify(manifest));
  const bundle = await loadBundle(dir);
  assert.ok(bundle.warnings.some((w) => w.includes(`head ${fusion[0]} has weight 0`)));
  assert.ok(bundle.warnings.some((w) => w.includes('mobilenet-v3-small-image has weight 0')));
  const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  await engine.close();
  const loaded = engine.sessions.map((s) => s.key);
  assert.ok(!loaded.includes(fusion[0]!) && !loaded.includes('mobilenet-v3-small-image'));
  assert.ok(loaded.includes(fusion[1]!));
});
