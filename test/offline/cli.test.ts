/** `avscene eval` and `avscene bench` as a user runs them (the built CLI), on fixture bundles. No timing assertions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, SHARED_DATA } from '../helpers/paths.js';
import { fixtureBundle, NO_TOOLKIT, scratchDir } from '../inference/fixture-bundles.js';

test('avscene bench reports every stage, the real-time factor, memory and the naive baseline', {
  skip: NO_TOOLKIT ?? false,
}, () => {
  const r = runCli([
    'bench',
    '--bundle',
    fixtureBundle('av'),
    '--windows',
    '3',
    '--warmup',
    '1',
    '--json',
    '--set',
    'inference.threads=1',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  for (const key of [
    'features',
    'preprocess',
    'audio:logmel-resnet1d',
    'audio:scalogram-resnet1d',
    'audio:bark-dcnn',
    'image:mobilenet-v3-small',
    'heads',
    'fusion',
    'total',
  ]) {
    assert.ok(report.latency[key]?.p50 >= 0 && report.latency[key].p99 >= report.latency[key].p50, `stage ${key}`);
  }
  assert.ok(report.realTimeFactor > 0 && report.peakRssMb > 0);
  assert.equal(report.naive.models.length, 3, 'each fusion head of the bundle, run on its own');
  assert.ok(report.naive.speedup > 0);
  assert.ok(report.sessions.every((s: { provider: string }) => s.provider === 'cpu'));
});

test('avscene eval writes metrics.json, metrics.md and confusion.png for a TAU-layout dataset', {
  skip: NO_TOOLKIT ?? (HAS_SHARED_DATA ? false : NO_SHARED_DATA),
}, () => {
  const ds = scratchDir('avscene-eval-cli-');
  mkdirSync(path.join(ds, 'audio'));
  mkdirSync(path.join(ds, 'evaluation_setup'));
  const name = 'airport-paris-206-6258'; // 480000 samples: ten whole windows
  copyFileSync(
    path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio', `${name}.wav`),
    path.join(ds, 'audio', `${name}.wav`),
  );
  writeFileSync(
    path.join(ds, 'evaluation_setup', 'fold1_evaluate.csv'),
    `filename_audio\tfilename_video\tscene_label\naudio/${name}.wav\tvideo/${name}.mp4\tairport\n`,
  );
  const out = path.join(ds, 'out');
  const r = runCli(['eval', ds, '--bundle', fixtureBundle('audio'), '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /# Evaluation of fixture-audio/);
  const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.segments, 10);
  assert.equal(metrics.perClass.airport.n, 10);
  assert.ok(existsSync(path.join(out, 'confusion.png')) && existsSync(path.join(out, 'metrics.md')));

  const missing = runCli(['eval', path.join(ds, 'nope'), '--bundle', fixtureBundle('audio')]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /DATASET must be a folder in the TAU layout/);
});
