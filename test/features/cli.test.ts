/** `avscene features` as users (and the training toolkit) run it: the built CLI on real WAV files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { decodeWav, toStereo48k } from '../../src/audio/index.js';
import { FEATURE_BANDS, FEATURE_KINDS, FeatureExtractor } from '../../src/features/index.js';
import { readNpy } from '../helpers/npy.js';
import { runBatch } from '../../src/features/batch.js';
import { random, writeWav } from './support.js';

const dir = tempDir('avscene-features-cli-');

function noise(seconds: number, rate: number, seed: number): Float64Array {
  const r = random(seed);
  return Float64Array.from(
    { length: Math.round(seconds * rate) },
    (_, i) => 0.2 * Math.sin(i / 7) + 0.1 * (2 * r() - 1),
  );
}

const tenSeconds = writeWav(path.join(dir, 'ten.wav'), {
  sampleRate: 48000,
  format: 'pcm24',
  channels: [noise(10, 48000, 1), noise(10, 48000, 2)],
});
const mono441 = writeWav(path.join(dir, 'mono-44k.wav'), {
  sampleRate: 44100,
  format: 'pcm16',
  channels: [noise(2.5, 44100, 3)],
});
const threeSeconds = writeWav(path.join(dir, 'three.wav'), {
  sampleRate: 48000,
  format: 'float32',
  channels: [noise(3.2, 48000, 4), noise(3.2, 48000, 5)],
});
const notWav = path.join(dir, 'notes.wav');
writeFileSync(notWav, 'these are my notes, not audio');
const withNaN = writeWav(path.join(dir, 'nan.wav'), {
  sampleRate: 48000,
  format: 'float32',
  channels: [Float64Array.from({ length: 48000 }, (_, i) => (i === 24000 ? Number.NaN : 0))],
});

test('one file, one kind: [T, 2, F] .npy with T = 59 for 10 s', () => {
  const out = path.join(dir, 'ten.logmel.npy');
  const r = runCli(['features', tenSeconds, '--kind', 'logmel', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const npy = readNpy(out);
  assert.deepEqual(npy.shape, [59, 2, 256]);
  const { left, right } = toStereo48k(decodeWav(readFileSync(tenSeconds), tenSeconds));
  assert.deepEqual(npy.data, new FeatureExtractor(['logmel']).clip(left, right).logmel);
});

test('batch --window 1: one [W, 6, 2, F] .npy per file and kind, exactly the daemon’s windows; bad files skipped with reasons', () => {
  const list = path.join(dir, 'list.txt');
  // Relative paths resolve against the list file's folder; comments and blank lines are ignored.
  writeFileSync(
    list,
    ['# training set', path.basename(tenSeconds), mono441, '', threeSeconds, notWav, withNaN].join('\n'),
  );
  const outDir = path.join(dir, 'out');
  const r = runCli([
    'features',
    '--list',
    list,
    '--kind',
    'logmel,bark,scalogram',
    '--out-dir',
    outDir,
    '--window',
    '1',
  ]);
  assert.equal(r.status, 1, 'a failed file makes the exit status 1');
  assert.match(r.stderr, /notes\.wav: not a WAV file/);
  assert.match(r.stderr, /nan\.wav: sample 24000 of channel 0 \(at 0\.500 s\) is NaN/);
  assert.match(r.stderr, /3\/5 files, 9 \.npy \(logmel, bark, scalogram, per 1-s window\) written to .* 2 failed/);
  const expectWindows: Array<[string, number]> = [
    [tenSeconds, 10],
    [mono441, 2],
    [threeSeconds, 3],
  ];
  for (const [file, windows] of expectWindows) {
    const { left, right } = toStereo48k(decodeWav(readFileSync(file), file));
    const extractor = new FeatureExtractor(FEATURE_KINDS);
    const last = extractor.window(
      left.subarray((windows - 1) * 48000, windows * 48000),
      right.subarray((windows - 1) * 48000, windows * 48000),
    );
    for (const kind of FEATURE_KINDS) {
      const npy = readNpy(path.join(outDir, `${path.basename(file, '.wav')}.${kind}.npy`));
      assert.deepEqual(npy.shape, [windows, 6, 2, FEATURE_BANDS[kind]], `${file} ${kind}`);
      const size = 6 * 2 * FEATURE_BANDS[kind];
      assert.deepEqual(
        npy.data.subarray((windows - 1) * size),
        last[kind],
        `${file} ${kind}: last window as the daemon computes it`,
      );
    }
  }
  assert.ok(!existsSync(path.join(outDir, 'notes.logmel.npy')));
});

test('usage errors name the problem (exit 64)', () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['features', tenSeconds, '--kind', 'mfcc', '--out', 'x.npy'],
      /unknown feature kind "mfcc"; use logmel, bark, scalogram/,
    ],
    [['features', tenSeconds, '--kind', 'logmel'], /--out FILE\.npy is required/],
    [['features', tenSeconds, '--kind', 'logmel,bark', '--out', 'x.npy'], /one input file takes one --kind/],
    [['features', path.join(dir, 'missing.wav'), '--kind', 'logmel', '--out', 'x.npy'], /missing\.wav does not exist/],
    [
      ['features', '--list', path.join(dir, 'nolist.txt'), '--kind', 'bark', '--out-dir', dir],
      /list file .*nolist\.txt does not exist/,
    ],
    [['features', '--list', tenSeconds, '--kind', 'bark', '--out-dir', dir, '--window', '2'], /--window takes 1/],
  ];
  for (const [args, message] of cases) {
    const r = runCli(args);
    assert.equal(r.status, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('two inputs with the same basename are refused before any work (their outputs would collide)', () => {
  const sub = path.join(dir, 'sub');
  mkdirSync(sub, { recursive: true });
  const twin = writeWav(path.join(sub, 'ten.wav'), { sampleRate: 48000, format: 'pcm16', channels: [[0]] });
  const list = path.join(dir, 'collide.txt');
  writeFileSync(list, [tenSeconds, twin].join('\n'));
  const r = runCli(['features', '--list', list, '--kind', 'bark', '--out-dir', path.join(dir, 'collide-out')]);
  assert.equal(r.status, 64);
  assert.match(r.stderr, /would both write ten\.<kind>\.npy/);
});

test('a bad single file exits 1 with the file and the reason', () => {
  const r = runCli(['features', notWav, '--kind', 'bark', '--out', path.join(dir, 'x.npy')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /notes\.wav: not a WAV file .*supported: RIFF\/WAVE/);
});

test('runBatch from the TypeScript sources (no worker threads there) writes the same files as the built CLI', async () => {
  const outDir = path.join(dir, 'inline');
  mkdirSync(outDir);
  const jobs = [tenSeconds, mono441].map((input) => ({
    input,
    outputs: { bark: path.join(outDir, `${path.basename(input, '.wav')}.bark.npy`) },
  }));
  const seen: string[] = [];
  const failed = await runBatch(jobs, ['bark'], true, 2, (p) => seen.push(`${p.done}/${p.total}`));
  assert.equal(failed, 0);
  assert.deepEqual(seen, ['1/2', '2/2']);
  const list = path.join(dir, 'inline.txt');
  writeFileSync(list, [tenSeconds, mono441].join('\n'));
  const cliOut = path.join(dir, 'inline-cli');
  assert.equal(runCli(['features', '--list', list, '--kind', 'bark', '--out-dir', cliOut, '--window', '1']).status, 0);
  for (const input of [tenSeconds, mono441]) {
    const name = `${path.basename(input, '.wav')}.bark.npy`;
    assert.deepEqual(readFileSync(path.join(outDir, name)), readFileSync(path.join(cliOut, name)), name);
  }
});
