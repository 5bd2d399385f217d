import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseDecisions, FusionError, Smoother } from '../../src/fusion/index.js';

const close = (actual: ArrayLike<number>, expected: number[], eps = 1e-12) => {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < eps, `index ${i}: ${actual[i]} vs ${e}`));
};

test('weighted fusion equals the hand-computed weighted mean', () => {
  const probs = { a: [0.7, 0.2, 0.1], b: [0.1, 0.6, 0.3], c: [0.2, 0.2, 0.6] };
  // 0.5·a + 0.3·b + 0.2·c = [0.35+0.03+0.04, 0.10+0.18+0.04, 0.05+0.09+0.12]
  close(fuseDecisions(probs, { a: 0.5, b: 0.3, c: 0.2 }), [0.42, 0.32, 0.26]);
});

test('weights are renormalised: unnormalised weights and missing heads still give a distribution', () => {
  const probs = { a: [0.7, 0.2, 0.1], b: [0.1, 0.6, 0.3] };
  close(fuseDecisions(probs, { a: 2, b: 6 }), [0.25, 0.5, 0.25]); // (2a + 6b) / 8
  // head c has no result (its modality is missing): a and b share the mass in proportion 0.5 : 0.3
  close(fuseDecisions(probs, { a: 0.5, b: 0.3, c: 0.2 }), [
    (0.35 + 0.03) / 0.8,
    (0.1 + 0.18) / 0.8,
    (0.05 + 0.09) / 0.8,
  ]);
});

test('zero weights are ignored and unweighted fusion is the plain mean', () => {
  const probs = { a: [1, 0], b: [0, 1], c: [0.5, 0.5] };
  close(fuseDecisions(probs, { a: 1, b: 0 }), [1, 0]);
  close(fuseDecisions(probs, 'unweighted'), [0.5, 0.5]);
  close(fuseDecisions({ a: [0.9, 0.1], b: [0.3, 0.7] }, 'unweighted'), [0.6, 0.4]);
});

test('fusion refuses when nothing can be fused or widths differ', () => {
  assert.throws(() => fuseDecisions({ a: [1, 0] }, { b: 1 }), FusionError);
  assert.throws(() => fuseDecisions({ a: [1, 0] }, { a: 0 }), FusionError);
  assert.throws(
    () => fuseDecisions({ a: [1, 0], b: [0.2, 0.3, 0.5] }, { a: 1, b: 1 }),
    /head b gives 3 classes, expected 2/,
  );
});

test('smoothing off passes each window through unchanged', () => {
  for (const k of [0, 1]) {
    const s = new Smoother(k);
    assert.equal(s.enabled, false);
    close(s.push([0.2, 0.8]), [0.2, 0.8]);
    close(s.push([0.9, 0.1]), [0.9, 0.1]);
  }
});

test('smoothing is the normalised geometric mean over the last K windows', () => {
  const s = new Smoother(2);
  close(s.push([0.8, 0.2]), [0.8, 0.2]);
  // exp(mean log) = [sqrt(0.8·0.2), sqrt(0.2·0.8)] → equal after normalisation
  close(s.push([0.2, 0.8]), [0.5, 0.5]);
  // window 1 leaves: [sqrt(0.2·0.5), sqrt(0.8·0.5)] = [0.31623, 0.63246] → /0.94868
  close(s.push([0.5, 0.5]), [1 / 3, 2 / 3], 1e-12);
  const three = new Smoother(3);
  three.push([0.6, 0.3, 0.1]);
  three.push([0.5, 0.25, 0.25]);
  const g = [Math.cbrt(0.6 * 0.5 * 0.4), Math.cbrt(0.3 * 0.25 * 0.4), Math.cbrt(0.1 * 0.25 * 0.2)];
  const sum = g[0]! + g[1]! + g[2]!;
  close(
    three.push([0.4, 0.4, 0.2]),
    g.map((x) => x / sum),
  );
});

test('a zero probability does not veto a class forever, and reset forgets history', () => {
  const s = new Smoother(3);
  s.push([1, 0]);
  const out = s.push([0, 1]);
  assert.ok(out[0]! > 0.49 && out[0]! < 0.51, 'one window of certainty each way balances');
  s.reset();
  close(s.push([0.3, 0.7]), [0.3, 0.7], 1e-9);
  assert.throws(() => s.push([0.2, 0.3, 0.5]), /3 classes after 2/);
  assert.throws(() => new Smoother(-1), RangeError);
});
