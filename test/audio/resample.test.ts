/**
 * The resampler (polyphase Kaiser-windowed sinc, src/audio/resample.ts) against known-good resamplers on a real
 * 44.1 kHz recording — sox's very-high-quality `rate -v` and scipy.signal.resample_poly with a long Kaiser filter —
 * and its band-limiting properties (flat passband, no aliasing, no images).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Resampler, decodeWav } from '../../src/audio/index.js';
import { FeatureExtractor, type FeatureKind } from '../../src/features/index.js';
import { barkToHz, hzToBark, hzToMel, melToHz } from '../../src/features/filterbank.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, REPO_ROOT, SHARED_DATA } from '../helpers/paths.js';
import { tempDir } from '../helpers/media.js';
import { NO_NUMPY, NO_SOX, PYTHON, compareDb } from '../features/support.js';

const dir = tempDir('avscene-resample-');
const DEMO = path.join(SHARED_DATA, 'demo', 'acoustic_scene.wav');
/** Both resamplers are flat to here; above it (up to 22.05 kHz) each has its own transition band. */
const PASSBAND_HZ = 19500;
const kinds: FeatureKind[] = ['logmel', 'bark', 'scalogram'];

/** Filters of each kind whose whole support lies below PASSBAND_HZ. */
function filtersBelowPassband(kind: FeatureKind): number {
  if (kind === 'logmel') return countBelow((j) => melToHz(((j + 2) * hzToMel(24000)) / 257));
  if (kind === 'bark')
    return countBelow((j) => barkToHz(hzToBark(0) + ((j + 2) * (hzToBark(24000) - hzToBark(0))) / 257));
  // Gaussians: centre + 8 widths (beyond the stored support).
  return countBelow((j) => 24000 * 2 ** ((j - 290) / 29) * (1 + 8 * (2 ** (1 / 29) - 1)));
}

function countBelow(upperEdge: (j: number) => number): number {
  let j = 0;
  while (upperEdge(j) < PASSBAND_HZ) j++;
  return j;
}

/**
 * Features of two 48 kHz versions of the same clip agree within 0.01 dB (values above max − 80 dB) in every
 * filter below the passband edge, over frames firstFrame … lastFrame.
 */
function assertSameFeatures(
  t: { diagnostic(s: string): void },
  label: string,
  a: Float32Array[],
  b: Float32Array[],
  frames: [number, number],
): void {
  const n = Math.min(a[0]!.length, b[0]!.length);
  const extractor = new FeatureExtractor(kinds);
  const fa = extractor.clip(a[0]!.subarray(0, n), a[1]!.subarray(0, n));
  const fb = extractor.clip(b[0]!.subarray(0, n), b[1]!.subarray(0, n));
  for (const kind of kinds) {
    const F = kind === 'scalogram' ? 290 : 256;
    const keep = filtersBelowPassband(kind);
    const pick = (x: Float32Array): number[] => {
      const out: number[] = [];
      for (let t = frames[0]; t <= frames[1]; t++)
        for (let c = 0; c < 2; c++) for (let j = 0; j < keep; j++) out.push(x[(t * 2 + c) * F + j]!);
      return out;
    };
    const cmp = compareDb(pick(fa[kind]!), pick(fb[kind]!));
    t.diagnostic(
      `${label} ${kind}: ${keep}/${F} filters below ${PASSBAND_HZ} Hz, max difference ${cmp.maxError.toExponential(2)} dB over ${cmp.compared} values`,
    );
    assert.ok(cmp.maxError <= 0.01, `${label} ${kind}: ${cmp.maxError} dB`);
  }
}

function resampleOurs(file: string): Float32Array[] {
  const audio = decodeWav(readFileSync(file), file);
  const resampler = new Resampler(audio.sampleRate);
  return audio.channels.map((c) => resampler.process(c));
}

test('44.1 kHz real recording: same features as sox `rate -v` (very high quality)', {
  skip: !HAS_SHARED_DATA ? NO_SHARED_DATA : (NO_SOX ?? false),
}, (t) => {
  const soxFile = path.join(dir, 'sox-48k.wav');
  execFileSync('sox', ['-D', DEMO, '-e', 'floating-point', '-b', '32', soxFile, 'rate', '-v', '48000']);
  const sox = decodeWav(readFileSync(soxFile), soxFile);
  const ours = resampleOurs(DEMO);
  assert.equal(ours[0]!.length, Math.ceil((441001 * 160) / 147));
  // sox starts and ends a clip its own way (not zero padding), so frames touching the clip boundaries differ:
  // compare frames 2 … T−3.
  const frames = 1 + Math.floor(sox.channels[0]!.length / 8208);
  assertSameFeatures(t, 'vs sox', ours, sox.channels, [2, frames - 3]);
});

test('44.1 kHz real recording: same features as scipy resample_poly (long Kaiser filter), all frames', {
  skip: !HAS_SHARED_DATA ? NO_SHARED_DATA : (NO_NUMPY ?? false),
}, (t) => {
  const out = path.join(dir, 'scipy-48k.f32');
  const script = [
    'import sys, numpy as np, scipy.signal as ss',
    `sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'test', 'reference'))})`,
    'import features_ref as r',
    `sr, x = r.read_wav(${JSON.stringify(DEMO)})`,
    'h = ss.firwin(2 * 160 * 100 + 1, 0.965 * 22050, window=("kaiser", 14), fs=44100 * 160)',
    `np.stack([ss.resample_poly(c, 160, 147, window=h) for c in x]).astype("<f4").tofile(${JSON.stringify(out)})`,
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const raw = readFileSync(out);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const scipy = [all.subarray(0, all.length / 2), all.subarray(all.length / 2)];
  const ours = resampleOurs(DEMO);
  assert.equal(ours[0]!.length, scipy[0]!.length);
  assertSameFeatures(t, 'vs scipy', ours, scipy, [0, 1 + Math.floor(ours[0]!.length / 8208) - 1]);
});

function tone(freq: number, rate: number, seconds: number): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, n) => Math.sin((2 * Math.PI * freq * n) / rate));
}

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! ** 2;
  return Math.sqrt(s / (to - from));
}

test('output length is ceil(len · 48000 / rate) for common and odd rates', () => {
  for (const rate of [8000, 11025, 16000, 22050, 32000, 44100, 88200, 96000, 192000, 44056]) {
    const r = new Resampler(rate);
    assert.equal(r.process(new Float32Array(12345)).length, Math.ceil((12345 * 48000) / rate), String(rate));
  }
});

test('passband is flat and the tone lands where it belongs (including an odd rate with interpolated phases)', () => {
  for (const [rate, freq] of [
    [44100, 1000],
    [44100, 20000],
    [16000, 7000],
    [44056, 3000],
    [96000, 21000],
  ] as const) {
    const y = new Resampler(rate).process(tone(freq, rate, 0.5));
    const expected = tone(freq, 48000, 0.5);
    let err = 0;
    for (let i = 2000; i < 22000; i++) err = Math.max(err, Math.abs(y[i]! - expected[i]!));
    assert.ok(err < 1e-4, `${rate} Hz, ${freq} Hz tone: max deviation ${err}`);
  }
});

test('no aliasing when downsampling: a 30 kHz tone at 96 kHz is gone (≤ −100 dB)', () => {
  const y = new Resampler(96000).process(tone(30000, 96000, 0.5));
  const level = 20 * Math.log10(rms(y, 2000, y.length - 2000) / Math.SQRT1_2);
  assert.ok(level < -100, `alias at ${level.toFixed(1)} dB`);
});

test('no images when upsampling: 16 kHz input puts nothing above 8 kHz (≤ −100 dB re the tone)', () => {
  const y = new Resampler(16000).process(tone(7500, 16000, 1.2));
  const window = y.subarray(0, 48000);
  const mel = new FeatureExtractor(['logmel']).window(window, window).logmel!;
  // Frame 3 (interior), average channel: the tone's band versus every band above 9 kHz.
  const frame = mel.subarray(3 * 512, 3 * 512 + 256);
  const top = Math.max(...frame);
  const firstAbove9k = Array.from({ length: 256 }, (_, j) => melToHz((j * hzToMel(24000)) / 257)).findIndex(
    (f) => f > 9000,
  );
  const worst = Math.max(...frame.subarray(firstAbove9k));
  assert.ok(worst < top - 100, `image at ${(worst - top).toFixed(1)} dB re the tone`);
});
