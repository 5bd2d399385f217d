import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadOpenCV } from '../../src/video/opencv.js';
import { loadBundle, SceneEngine } from '../../src/inference/index.js';
import { evaluate, readSplit, reportMarkdown, ScoreBoard, type EvalReport } from '../../src/offline/evaluate.js';
import { writeConfusionPng } from '../../src/offline/confusion-png.js';
import { makeVideo } from '../helpers/media.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, REPO_ROOT, SHARED_DATA } from '../helpers/paths.js';
import { fixtureBundle, NO_TOOLKIT, scratchDir } from '../inference/fixture-bundles.js';

const quiet = pino({ level: 'silent' });

test('scores: per-segment log loss, accuracy, per class and confusion against hand-computed values', () => {
  const board = new ScoreBoard(['a', 'b', 'c']);
  board.add(0, [0.7, 0.2, 0.1]); // right
  board.add(0, [0.3, 0.6, 0.1]); // wrong → b
  board.add(2, [0.1, 0.1, 0.8]); // right
  board.add(1, [0, 0, 1]); // wrong → c, p(true) = 0 is clipped to 1e-15
  const s = board.summary();
  assert.equal(s.segments, 4);
  assert.equal(s.accuracy, 0.5);
  const expected = -(Math.log(0.7) + Math.log(0.3) + Math.log(0.8) + Math.log(1e-15)) / 4;
  assert.ok(Math.abs(s.logLoss - expected) < 1e-12, `${s.logLoss} vs ${expected}`);
  assert.deepEqual(s.confusion, [
    [1, 1, 0],
    [0, 0, 1],
    [0, 0, 1],
  ]);
  assert.deepEqual(s.perClass.a, { n: 2, accuracy: 0.5, logLoss: -(Math.log(0.7) + Math.log(0.3)) / 2 });
  assert.equal(s.perClass.b!.accuracy, 0);
  // DCASE's figure: per class, then the mean over the three classes (a has 2 segments, b and c one each)
  const perClass = [-(Math.log(0.7) + Math.log(0.3)) / 2, -Math.log(1e-15), -Math.log(0.8)];
  const dcase = perClass.reduce((a, b) => a + b) / 3;
  assert.ok(Math.abs(s.classAverage.logLoss - dcase) < 1e-12, `${s.classAverage.logLoss} vs ${dcase}`);
  assert.equal(s.classAverage.accuracy, (0.5 + 0 + 1) / 3);
  assert.equal(s.classAverage.classes, 3);
  assert.notEqual(s.classAverage.logLoss, s.logLoss); // unequal class counts: the two figures differ
  const md = reportMarkdown({
    ...s,
    bundle: { name: 'b', version: '1' },
    dataset: 'd',
    split: 's',
    clips: 2,
    missingVideos: 0,
    imagelessSegments: 0,
    degradedSegments: 0,
    classes: ['a', 'b', 'c'],
    clipAccuracy: 0.5,
  });
  assert.match(md, new RegExp(`log loss, class-averaged \\(DCASE\\) \\| ${dcase.toFixed(3)} \\|`));
  assert.match(md, new RegExp(`log loss, pooled over segments \\| ${expected.toFixed(3)} \\|`));
});

test('the TAU list reader takes tab-separated lists and explains a wrong folder', async () => {
  const dir = scratchDir();
  mkdirSync(path.join(dir, 'evaluation_setup'));
  writeFileSync(
    path.join(dir, 'evaluation_setup', 'fold1_evaluate.csv'),
    'filename_audio\tfilename_video\tscene_label\r\naudio/x.wav\tvideo/x.mp4\tbus\r\n',
  );
  assert.deepEqual(await readSplit(dir), [{ audio: 'audio/x.wav', video: 'video/x.mp4', label: 'bus' }]);
  await assert.rejects(
    readSplit(path.join(dir, 'nowhere')),
    /does not exist: DATASET must be a folder in the TAU layout/,
  );
  writeFileSync(path.join(dir, 'bad.csv'), 'file,label\n');
  await assert.rejects(
    readSplit(dir, 'bad.csv'),
    /expected a tab-separated header with filename_audio and scene_label/,
  );
});

test('eval on real TAU clips, one with its video and one without', {
  skip: NO_TOOLKIT ?? (HAS_SHARED_DATA ? false : NO_SHARED_DATA),
}, async () => {
  const ds = scratchDir('avscene-tau-');
  mkdirSync(path.join(ds, 'audio'));
  mkdirSync(path.join(ds, 'video'));
  mkdirSync(path.join(ds, 'evaluation_setup'));
  const clips = [
    ['airport-paris-206-6258', 'airport'],
    ['park-lyon-1144-44031', 'park'],
  ] as const;
  for (const [name] of clips)
    copyFileSync(
      path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio', `${name}.wav`),
      path.join(ds, 'audio', `${name}.wav`),
    );
  makeVideo(path.join(ds, 'video', `${clips[1][0]}.mp4`), 10); // the airport clip's video is missing
  writeFileSync(
    path.join(ds, 'evaluation_setup', 'fold1_evaluate.csv'),
    [
      'filename_audio\tfilename_video\tscene_label',
      ...clips.map(([n, l]) => `audio/${n}.wav\tvideo/${n}.mp4\t${l}`),
    ].join('\n') + '\n',
  );

  const engine = await SceneEngine.create(await loadBundle(fixtureBundle('av')), {
    providers: 'cpu',
    threads: 1,
    logger: quiet,
  });
  let report: EvalReport;
  try {
    report = await evaluate(engine, { datasetDir: ds, logger: quiet });
  } finally {
    await engine.close();
  }
  assert.equal(report.clips, 2);
  // park-lyon-1144-44031 is one sample short of 10 s: like the daemon, eval completes its last window with one zero
  assert.equal(report.segments, 20, 'ten 1-s windows per clip');
  assert.equal(report.missingVideos, 1);
  assert.equal(report.imagelessSegments, 10, 'the airport clip, whose video is missing');
  assert.equal(report.degradedSegments, 0, 'the bundle has audio fallback heads for the clip without video');
  assert.equal(
    report.confusion.flat().reduce((a, b) => a + b, 0),
    20,
  );
  assert.equal(report.perClass.airport!.n + report.perClass.park!.n, 20);
  assert.ok(report.logLoss > 0 && Number.isFinite(report.logLoss));
  const md = reportMarkdown(report);
  assert.match(
    md,
    /2 clips, 20 one-second segments, 1 clip without their video, 10 segments classified without an image/,
  );
  assert.match(md, /\| airport \| 10 \|/);

  const png = path.join(ds, 'confusion.png');
  await writeConfusionPng(png, report.classes, report.confusion, 'test');
  const cv = await loadOpenCV();
  const img = cv.imread(png);
  assert.ok(img.cols > 10 * 56 && img.rows > 10 * 56, `confusion image ${img.cols}x${img.rows}`);
  img.release();
});

const DEMO_BUNDLE = path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio');
const noDemo = existsSync(path.join(DEMO_BUNDLE, 'bundle.json'))
  ? null
  : `${DEMO_BUNDLE} is not there (the toolkit's demo training writes it)`;

test("the engine reproduces the toolkit's PyTorch evaluation of the demo bundle on real TAU clips", {
  skip: noDemo ?? (HAS_SHARED_DATA ? false : NO_SHARED_DATA),
}, async () => {
  // bundle.json's metrics were computed by the toolkit in PyTorch on the same split (fold1_evaluate)
  const manifest = JSON.parse(readFileSync(path.join(DEMO_BUNDLE, 'bundle.json'), 'utf8'));
  const expected = manifest.metrics as {
    split: string;
    logLoss: number;
    accuracy: number;
    n: number;
    perClass: Record<string, { logLoss: number; accuracy: number; n: number }>;
  };
  assert.equal(expected.split, 'fold1_evaluate');
  const engine = await SceneEngine.create(await loadBundle(DEMO_BUNDLE), {
    providers: 'cpu',
    threads: 1,
    logger: quiet,
  });
  let report: EvalReport;
  try {
    report = await evaluate(engine, { datasetDir: path.join(SHARED_DATA, 'tau-av-2021-sample'), logger: quiet });
  } finally {
    await engine.close();
  }
  assert.equal(report.segments, expected.n);
  assert.ok(
    Math.abs(report.logLoss - expected.logLoss) < 1e-4,
    `log loss ${report.logLoss} vs toolkit ${expected.logLoss}`,
  );
  assert.equal(report.accuracy, expected.accuracy);
  const dcase = (expected as unknown as { classAverage: { logLoss: number } }).classAverage;
  assert.ok(
    Math.abs(report.classAverage.logLoss - dcase.logLoss) < 1e-4,
    `class-averaged log loss ${report.classAverage.logLoss} vs toolkit ${dcase.logLoss}`,
  );
  for (const [c, want] of Object.entries(expected.perClass)) {
    assert.equal(report.perClass[c]!.n, want.n, c);
    assert.ok(
      Math.abs(report.perClass[c]!.logLoss - want.logLoss) < 1e-4,
      `${c}: ${report.perClass[c]!.logLoss} vs ${want.logLoss}`,
    );
  }
});
