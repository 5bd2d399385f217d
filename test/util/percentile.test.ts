import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile } from '../../src/util/percentile.js';

test('nearest-rank percentile: the smallest value with at least p % of the values at or below it', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(ten, 50), 5);
  assert.equal(percentile(ten, 95), 10);
  assert.equal(percentile(ten, 90), 9);
  assert.equal(percentile(ten, 0), 1);
  assert.equal(percentile(ten, 100), 10);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});
