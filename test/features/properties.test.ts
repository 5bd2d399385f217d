/** Properties of the feature pipeline that must hold for any input: channel algebra, framing, FFT correctness. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toStereo48k } from '../../src/audio/index.js';
import { FEATURE_BANDS, FEATURE_KINDS, FeatureExtractor } from '../../src/features/index.js';
import { ComplexFft } from '../../src/features/fft.js';
import { random } from './support.js';

const rnd = random(7);
function signal(n: number, seed = 0): Float32Array {
  const r = random(seed + 11);
  return Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.05) + 0.2 * (2 * r() - 1));
}

test('identical L and R: the difference channel is silent (≤ −100 dB) in every kind', () => {
  const x = signal(48000, 1);
  const features = new FeatureExtractor(FEATURE_KINDS).window(x, x.slice());
  for (const kind of FEATURE_KINDS) {
    const F = FEATURE_BANDS[kind];
    const v = features[kind]!;
    for (let t = 0; t < 6; t++) {
      for (let j = 0; j < F; j++)
        assert.ok(v[(2 * t + 1) * F + j]! <= -100, `${kind} t=${t} j=${j}: ${v[(2 * t + 1) * F + j]}`);
      assert.ok(
        Math.max(...v.subarray(2 * t * F, (2 * t + 1) * F)) > -40,
        `${kind} t=${t}: the average channel has signal`,
      );
    }
  }
});

test('swapping L and R leaves the average channel unchanged (and the difference channel’s power too)', () => {
  const l = signal(48000, 2),
    r = signal(48000, 3);
  const extractor = new FeatureExtractor(FEATURE_KINDS);
  const a = Object.fromEntries(Object.entries(extractor.window(l, r)).map(([k, v]) => [k, v.slice()]));
  const b = extractor.window(r, l);
  for (const kind of FEATURE_KINDS) {
    const F = FEATURE_BANDS[kind];
    for (let t = 0; t < 6; t++) {
      for (let j = 0; j < F; j++) {
        assert.equal(b[kind]![2 * t * F + j], a[kind]![2 * t * F + j], `${kind} average t=${t} j=${j}`);
        assert.ok(
          Math.abs(b[kind]![(2 * t + 1) * F + j]! - a[kind]![(2 * t + 1) * F + j]!) < 1e-4,
          `${kind} difference t=${t} j=${j}`,
        );
      }
    }
  }
});

test('a window is [6, 2, F] and equals the clip framing of the same 48000 samples', () => {
  const l = signal(48000, 4),
    r = signal(48000, 5);
  const extractor = new FeatureExtractor(['scalogram', 'logmel']);
  const window = extractor.window(l, r);
  const clip = extractor.clip(l, r);
  for (const kind of ['scalogram', 'logmel'] as const) {
    assert.equal(window[kind]!.length, 6 * 2 * FEATURE_BANDS[kind]);
    assert.deepEqual(window[kind], clip[kind]);
  }
  assert.equal(window.bark, undefined, 'only the requested kinds');
  assert.equal(new FeatureExtractor(['bark']).clip(signal(480000), signal(480000)).bark!.length, 59 * 2 * 256);
  assert.equal(new FeatureExtractor(['bark']).clip(signal(8207), signal(8207)).bark!.length, 1 * 2 * 256);
  assert.equal(new FeatureExtractor(['bark']).clip(signal(8208), signal(8208)).bark!.length, 2 * 2 * 256);
});

test('window() reuses its output arrays (no allocation per window) and rejects wrong lengths', () => {
  const extractor = new FeatureExtractor(['logmel']);
  const first = extractor.window(signal(48000), signal(48000)).logmel;
  const second = extractor.window(signal(48000, 9), signal(48000, 9)).logmel;
  assert.equal(first, second);
  assert.throws(() => extractor.window(signal(44100), signal(44100)), /48000 samples per channel, got 44100/);
  assert.throws(() => extractor.clip(signal(100), signal(99)), /differ in length/);
  assert.throws(() => new FeatureExtractor([]), /at least one/);
});

test('mono input maps to L = R, more than two channels to the first two', () => {
  const x = signal(1000);
  const mono = toStereo48k({ sampleRate: 48000, channels: [x] });
  assert.equal(mono.left, x);
  assert.equal(mono.right, x);
  const y = signal(1000, 1),
    z = signal(1000, 2);
  const multi = toStereo48k({ sampleRate: 48000, channels: [x, y, z] });
  assert.equal(multi.left, x);
  assert.equal(multi.right, y);
  const resampled = toStereo48k({ sampleRate: 16000, channels: [x] });
  assert.equal(resampled.left.length, 3000);
  assert.equal(resampled.right, resampled.left);
});

test('mixed-radix FFT equals the DFT for sizes 2^a·3^b, and 24576 keeps Parseval and linearity', () => {
  for (const n of [1, 2, 3, 4, 6, 8, 12, 16, 24, 48, 96, 384, 1536]) {
    const fft = new ComplexFft(n);
    const x = Array.from({ length: 2 * n }, () => rnd() - 0.5);
    fft.data.set(x);
    const y = fft.transform();
    for (let k = 0; k < n; k++) {
      let re = 0,
        im = 0;
      for (let j = 0; j < n; j++) {
        const angle = (-2 * Math.PI * ((j * k) % n)) / n;
        re += x[2 * j]! * Math.cos(angle) - x[2 * j + 1]! * Math.sin(angle);
        im += x[2 * j]! * Math.sin(angle) + x[2 * j + 1]! * Math.cos(angle);
      }
      assert.ok(Math.hypot(re - y[2 * k]!, im - y[2 * k + 1]!) < 1e-12 * Math.sqrt(n) * 10, `n=${n} k=${k}`);
    }
  }
  const n = 24576;
  const fft = new ComplexFft(n);
  const x = Float64Array.from({ length: 2 * n }, () => rnd() - 0.5);
  fft.data.set(x);
  const y = fft.transform();
  const energy = (v: Float64Array): number => v.reduce((s, a) => s + a * a, 0);
  assert.ok(Math.abs(energy(y) / n / energy(x) - 1) < 1e-12, 'Parseval');
  // A single tone lands in its bin: x[j] = e^(2πi·1234·j/N) → X[1234] = N, elsewhere ~0.
  for (let j = 0; j < n; j++) {
    fft.data[2 * j] = Math.cos((2 * Math.PI * 1234 * j) / n);
    fft.data[2 * j + 1] = Math.sin((2 * Math.PI * 1234 * j) / n);
  }
  const z = fft.transform();
  assert.ok(Math.abs(z[2 * 1234]! - n) < 1e-8 && Math.abs(z[2 * 1234 + 1]!) < 1e-8);
  let leak = 0;
  for (let k = 0; k < n; k++) if (k !== 1234) leak = Math.max(leak, Math.hypot(z[2 * k]!, z[2 * k + 1]!));
  assert.ok(leak < 1e-8, `leakage ${leak}`);
  assert.throws(() => new ComplexFft(20), /not of the form/);
});
