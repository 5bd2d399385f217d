/**
 * The model toolkit (models/avscene_models): its Python unit tests, one node test per Python test case
 * (models/tests/runner.py); ONNX/PyTorch parity in onnxruntime-node; the shipped demo bundle. The end-to-end pipeline
 * run is in pipeline.test.ts (each file has its own time budget).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/media.js';
import { MODELS, NO_PYTHON, python } from './python.js';

interface CaseResult {
  name: string;
  outcome: 'ok' | 'FAIL' | 'ERROR' | 'skipped';
  detail: string;
}

const modules = readdirSync(path.join(MODELS, 'tests'))
  .filter((f) => /^test_\w+\.py$/.test(f))
  .sort()
  .map((f) => `tests.${f.replace(/\.py$/, '')}`);

describe('toolkit python unit tests', () => {
  for (const mod of modules) {
    test(mod, { skip: NO_PYTHON }, async (t) => {
      // tests/runner.py: unittest with one JSON line per case on stdout (library logs go to stderr).
      const r = python(['-m', 'tests.runner', mod], 180_000);
      assert.ifError(r.error);
      const cases = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as CaseResult);
      assert.ok(cases.length > 0, `no test cases reported by ${mod}:\n${r.stderr.slice(-3000)}`);
      for (const c of cases) {
        await t.test(c.name, { skip: c.outcome === 'skipped' ? c.detail : undefined }, () => {
          assert.equal(c.outcome, 'ok', c.detail);
        });
      }
      assert.equal(r.status, 0, `unittest ${mod} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
    });
  }
});

describe('ONNX export matches PyTorch in onnxruntime-node', () => {
  let dir: string;
  before(() => {
    dir = tempDir('avscene-parity-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every net and head of an audio-visual fixture bundle: max abs difference < 1e-4', {
    skip: NO_PYTHON,
  }, async () => {
    const bundle = path.join(dir, 'bundle');
    const parity = path.join(dir, 'parity');
    const r = python(
      ['-m', 'avscene_models', 'fixture', '--system', 'av', '--out', bundle, '--parity-dir', parity, '--no-parity'],
      180_000,
    );
    assert.equal(r.status, 0, r.stderr);
    const { maxAbsDiffs } = (await import(path.join(MODELS, 'scripts', 'onnx-parity.mjs'))) as {
      maxAbsDiffs(dir: string): Promise<Record<string, number>>;
    };
    const diffs = await maxAbsDiffs(parity);
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8'));
    const files = ['audioNets', 'imageNets', 'heads'].flatMap((k) =>
      Object.values(manifest[k] as Record<string, { file: string }>).map((e) => e.file),
    );
    assert.deepEqual(
      Object.keys(diffs)
        .map((f) => path.basename(f))
        .sort(),
      [...files].sort(),
    );
    for (const [file, diff] of Object.entries(diffs))
      assert.ok(diff < 1e-4, `${path.basename(file)}: max abs difference ${diff}`);
    // The reference outputs are not degenerate (a net that outputs ~0 would pass any absolute tolerance).
    const checks = JSON.parse(readFileSync(path.join(parity, 'parity.json'), 'utf8')) as Array<{
      file: string;
      outputs: Record<string, { bin: string }>;
    }>;
    for (const c of checks) {
      const out = Object.values(c.outputs)[0]!;
      const buf = readFileSync(path.join(parity, out.bin));
      const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const scale = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(scale > 1e-3, `${path.basename(c.file)}: reference output too small to compare (${scale})`);
      assert.ok(
        diffs[c.file]! / scale < 1e-3,
        `${path.basename(c.file)}: relative difference ${diffs[c.file]! / scale}`,
      );
    }
  });
});

describe('demo bundle shipped in models/bundles/demo-audio', () => {
  const dir = path.join(MODELS, 'bundles', 'demo-audio');
  test('files match their hashes; it beats the baseline; untrained classes recorded', () => {
    const m = JSON.parse(readFileSync(path.join(dir, 'bundle.json'), 'utf8'));
    for (const kind of ['audioNets', 'imageNets', 'heads']) {
      for (const [key, e] of Object.entries(m[kind] as Record<string, { file: string; sha256: string }>)) {
        const hash = createHash('sha256')
          .update(readFileSync(path.join(dir, e.file)))
          .digest('hex');
        assert.equal(hash, e.sha256, `${kind}.${key}`);
      }
    }
    assert.deepEqual(m.untrainedClasses, ['public_square', 'tram']);
    assert.equal(m.classes.length, 10);
    assert.deepEqual(Object.keys(m.imageNets), []);
    assert.ok(
      m.metrics.accuracy > m.metrics.baseline.accuracy,
      `accuracy ${m.metrics.accuracy} vs baseline ${m.metrics.baseline.accuracy}`,
    );
    assert.ok(
      m.metrics.logLoss < m.metrics.baseline.logLoss,
      `log loss ${m.metrics.logLoss} vs baseline ${m.metrics.baseline.logLoss}`,
    );
    assert.equal(m.metrics.calibrationMethod, 'temperature', 'a deployment bundle is calibrated');
  });

  test("the docs quote the shipped bundle's own numbers", {
    skip: existsSync(dir) ? undefined : 'not built yet',
  }, () => {
    const m = JSON.parse(readFileSync(path.join(dir, 'bundle.json'), 'utf8'));
    const readme = readFileSync(path.join(MODELS, 'README.md'), 'utf8');
    const weights = `[${Object.values(m.decision.weights as Record<string, number>).join(', ')}]`;
    for (const quoted of [
      `**${m.metrics.logLoss.toFixed(3)}**`,
      `**${(100 * m.metrics.accuracy).toFixed(1)}%**`,
      weights,
      `${m.metrics.n} one-second segments`,
    ]) {
      assert.ok(readme.includes(quoted), `models/README.md does not quote ${quoted}`);
    }
    const bench = readFileSync(path.join(REPO_ROOT, 'BENCHMARKS.md'), 'utf8');
    for (const quoted of [
      m.metrics.logLoss.toFixed(8),
      `${(100 * m.metrics.accuracy).toFixed(1)} % over ${m.metrics.n}`,
    ]) {
      assert.ok(bench.includes(quoted), `BENCHMARKS.md does not quote ${quoted}`);
    }
  });
});
