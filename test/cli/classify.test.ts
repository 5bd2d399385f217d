/** `avscene classify` as a user runs it: the daemon's pipeline on a file, one line per window, then the summary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { fixtureBundle, NO_TOOLKIT } from '../inference/fixture-bundles.js';

const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');

interface Line {
  window: { start: number; end: number };
  label: string;
  confidence: number;
  probs: Record<string, number>;
  raw?: { label: string; probs: Record<string, number> };
}

function classify(...extra: string[]): {
  windows: Line[];
  summary: { windows: number; label: string; probs: Record<string, number> };
} {
  const r = runCli(['classify', DEMO_CLIP, '--json', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line & { summary?: never });
  const summary = (
    lines.pop() as unknown as { summary: { windows: number; label: string; probs: Record<string, number> } }
  ).summary;
  return { windows: lines, summary };
}

test('classify prints one JSON line per 1-s window and a summary that is their mean', () => {
  const { windows, summary } = classify();
  assert.equal(windows.length, 10);
  // Positions in the file, in seconds (not the wall clock of the run).
  assert.deepEqual(
    windows.map((w) => w.window),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((start) => ({ start, end: start + 1 })),
  );
  assert.equal(summary.windows, 10);
  for (const [label, p] of Object.entries(summary.probs)) {
    const mean = windows.reduce((a, w) => a + w.probs[label]!, 0) / windows.length;
    assert.ok(Math.abs(mean - p) < 1e-5, `${label}: summary ${p} vs mean ${mean}`);
  }
  assert.ok(
    windows.every((w) => w.raw === undefined),
    'no raw decision without smoothing',
  );
});

test('with smoothing the label follows the mean log-probability of the last K windows and raw keeps each window', () => {
  const plain = classify().windows;
  const smoothed = classify('--set', 'inference.smoothing=3').windows;
  assert.deepEqual(
    smoothed.map((w) => w.raw!.probs),
    plain.map((w) => w.probs),
    'raw is the unsmoothed result',
  );
  assert.deepEqual(smoothed[0]!.probs, plain[0]!.probs, 'the first window has no history');
  const classes = Object.keys(plain[0]!.probs);
  const geo = classes.map((c) =>
    Math.exp((Math.log(plain[1]!.probs[c]!) + Math.log(plain[2]!.probs[c]!) + Math.log(plain[3]!.probs[c]!)) / 3),
  );
  const total = geo.reduce((a, b) => a + b, 0);
  classes.forEach((c, i) => assert.ok(Math.abs(smoothed[3]!.probs[c]! - geo[i]! / total) < 1e-4, `${c} at window 3`));
});

test('a recording shorter than one window, and a file that is not a WAV, get clear errors', () => {
  const short = spawnSync('sox', [
    '-n',
    '-r',
    '48000',
    '-c',
    '2',
    '-b',
    '16',
    '/tmp/avscene-short.wav',
    'trim',
    '0',
    '0.5',
  ]);
  assert.equal(short.status, 0);
  const r1 = runCli(['classify', '/tmp/avscene-short.wav']);
  assert.notEqual(r1.status, 0);
  assert.match(r1.stderr, /avscene-short\.wav.*shorter than one 1-s window/);
  const r2 = runCli(['classify', CLI]);
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /main\.js.*not a WAV/i);
});

test('a video file that cannot be decoded is named in the error, and classify ends', {
  skip: NO_TOOLKIT ?? false,
}, () => {
  const bad = path.join(tempDir(), 'not-a-video.mp4');
  writeFileSync(bad, 'this is text, not a video\n');
  // An image bundle: it needs the video, so it opens it.
  // runCli's 2-minute limit is the hang guard: beside 8 CPU-bound processes, start-up alone took over 30 s.
  const r = runCli(['classify', DEMO_CLIP, '--video', bad, '--bundle', fixtureBundle('av')]);
  assert.equal(
    r.status,
    1,
    `classify must exit after the error (status ${r.status}, killed after 2 min when null)\n${r.stderr}`,
  );
  assert.match(r.stderr, /video\.file ".*not-a-video\.mp4"/);
});

test('with an audio-only bundle, --video is not opened: said once, labels from audio', () => {
  const bad = path.join(tempDir(), 'not-a-video.mp4');
  writeFileSync(bad, 'this is text, not a video\n');
  const r = runCli(['classify', DEMO_CLIP, '--video', bad, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stderr.match(/video\.source=file is not opened: model bundle demo-audio uses no image/g)?.length,
    1,
    r.stderr,
  );
  const lines = r.stdout
    .trim()
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as { modalities: string[] });
  assert.equal(lines.length, 10);
  for (const l of lines) assert.deepEqual(l.modalities, ['audio']);
});
