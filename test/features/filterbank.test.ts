/** The filterbank builders: librosa's own mel fixtures, and the spec's Bark and Gaussian banks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  GAUSSIAN_TRUNCATION,
  barkFilterbank,
  gaussianFilterbank,
  melFilterbank,
  type SparseFilterbank,
} from '../../src/features/filterbank.js';
import { FEATURE_BANDS, filterbankFor } from '../../src/features/index.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, SHARED_DATA } from '../helpers/paths.js';
import { PYTHON } from './support.js';

function dense(fb: SparseFilterbank): Float64Array[] {
  return Array.from({ length: fb.filters }, (_, j) => {
    const row = new Float64Array(fb.bins);
    for (let i = 0; i < fb.length[j]!; i++) row[fb.first[j]! + i] = fb.weights[fb.offset[j]! + i]!;
    return row;
  });
}

interface Fixture {
  file: string;
  sr: number;
  nfft: number;
  nfilts: number;
  fmin: number;
  fmax: number;
  htk: number;
  wts: number[][];
}

/** Null when SciPy can read the fixtures here, else why not: the one reason this test skips. */
const NO_SCIPY: string | null =
  spawnSync(PYTHON, ['-c', 'import scipy.io'], { encoding: 'utf8' }).status === 0
    ? null
    : `${PYTHON} cannot import scipy.io (install the Debian package python3-scipy)`;

function loadFixtures(): Fixture[] {
  const script = `
import glob, json, os, sys, scipy.io
out = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.mat'))):
    d = scipy.io.loadmat(f)
    n = int(d['nfft'].item())
    out.append(dict(file=os.path.basename(f), sr=int(d['sr'].item()), nfft=n, nfilts=int(d['nfilts'].item()),
                    fmin=float(d['fmin'].item()), fmax=float(d['fmax'].item()), htk=int(d['htk'].item()),
                    wts=d['wts'][:, :n // 2 + 1].tolist()))
print(json.dumps(out))`;
  const r = spawnSync(PYTHON, ['-c', script, path.join(SHARED_DATA, 'librosa-melfb')], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `reading the .mat fixtures with SciPy failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout) as Fixture[];
}

test("mel filterbank equals librosa's regression fixtures (relative error < 1e-6)", {
  skip: HAS_SHARED_DATA ? (NO_SCIPY ?? false) : NO_SHARED_DATA,
}, (t) => {
  const fixtures = loadFixtures();
  assert.ok(fixtures.length >= 16, `${fixtures.length} fixtures`);
  for (const f of fixtures) {
    assert.equal(f.htk, 0, `${f.file}: only Slaney (htk=0) fixtures are expected`);
    const ours = dense(melFilterbank({ sampleRate: f.sr, nFft: f.nfft, nMels: f.nfilts, fmin: f.fmin, fmax: f.fmax }));
    assert.equal(ours.length, f.wts.length, `${f.file}: filter count`);
    let worst = 0;
    for (let j = 0; j < ours.length; j++) {
      const expected = f.wts[j]!;
      const peak = Math.max(...expected);
      for (let k = 0; k < expected.length; k++) {
        // Relative to the filter's peak; librosa's empty filters (too many for the FFT size) must be empty here too.
        const diff = Math.abs(ours[j]![k]! - expected[k]!);
        worst = Math.max(worst, peak > 0 ? diff / peak : diff === 0 ? 0 : Infinity);
      }
    }
    assert.ok(worst < 1e-6, `${f.file}: relative error ${worst}`);
  }
  t.diagnostic(`${fixtures.length} librosa fixtures match`);
});

test('spec banks: 256 mel, 256 Bark, 290 scalogram filters over 12289 bins, stored sparsely', () => {
  for (const kind of ['logmel', 'bark', 'scalogram'] as const) {
    const fb = filterbankFor(kind);
    assert.equal(fb.filters, FEATURE_BANDS[kind]);
    assert.equal(fb.bins, 12289);
    assert.ok(fb.weights.length < 0.06 * fb.filters * fb.bins, `${kind}: ${fb.weights.length} stored weights`);
    for (let j = 0; j < fb.filters; j++) assert.ok(fb.length[j]! >= 1, `${kind} filter ${j} is empty`);
  }
});

test('Bark triangles peak at 1 on the Traunmueller grid (no area normalisation)', () => {
  const fb = barkFilterbank({ sampleRate: 48000, nFft: 24576, nBark: 256, fmin: 0, fmax: 24000 });
  const rows = dense(fb);
  const z = (f: number): number => (26.81 * f) / (1960 + f) - 0.53;
  const edge = (j: number): number => {
    const v = z(0) + (j * (z(24000) - z(0))) / 257;
    return (1960 * (v + 0.53)) / (26.28 - v);
  };
  const binHz = 48000 / 24576;
  for (const j of [0, 40, 128, 200, 255]) {
    const peak = Math.max(...rows[j]!);
    // The bin nearest the apex is at most half a bin away from it: the sampled peak is 1 minus at most that slope.
    const halfWidth = Math.min(edge(j + 1) - edge(j), edge(j + 2) - edge(j + 1));
    assert.ok(peak <= 1 && peak >= 1 - binHz / 2 / halfWidth, `filter ${j} peak ${peak}`);
    // Support: strictly inside (b_j, b_{j+2}).
    const first = fb.first[j]! * binHz,
      last = (fb.first[j]! + fb.length[j]! - 1) * binHz;
    assert.ok(
      first > edge(j) && last < edge(j + 2),
      `filter ${j}: ${first}…${last} Hz outside ${edge(j)}…${edge(j + 2)}`,
    );
  }
});

test('scalogram Gaussians: normalised to sum 1, truncated only below 1e-12 of their peak', () => {
  const options = { sampleRate: 48000, nFft: 24576, perOctave: 29, octaves: 10, top: 24000 };
  const fb = gaussianFilterbank(options);
  const binHz = 48000 / 24576;
  for (const j of [0, 1, 50, 145, 230, 289]) {
    const c = 24000 * 2 ** ((j - 290) / 29);
    const s = c * (2 ** (1 / 29) - 1);
    // The full (untruncated) Gaussian over all bins, straight from the spec.
    const g = Array.from({ length: 12289 }, (_, k) => Math.exp(-((k * binHz - c) ** 2) / (2 * s * s)));
    const sum = g.reduce((a, b) => a + b, 0);
    const peak = Math.max(...g);
    let kept = 0;
    for (let i = 0; i < fb.length[j]!; i++) {
      const k = fb.first[j]! + i;
      const w = fb.weights[fb.offset[j]! + i]!;
      assert.ok(Math.abs(w - g[k]! / sum) <= 1e-7 * (g[k]! / sum) + 1e-30, `filter ${j} bin ${k}`);
      kept += g[k]!;
    }
    const first = fb.first[j]!,
      last = first + fb.length[j]! - 1;
    if (first > 0)
      assert.ok(g[first - 1]! < GAUSSIAN_TRUNCATION * peak, `filter ${j}: dropped bin ${first - 1} is not negligible`);
    if (last < 12288)
      assert.ok(g[last + 1]! < GAUSSIAN_TRUNCATION * peak, `filter ${j}: dropped bin ${last + 1} is not negligible`);
    assert.ok(1 - kept / sum < 1e-11, `filter ${j}: dropped mass ${1 - kept / sum}`);
  }
});
