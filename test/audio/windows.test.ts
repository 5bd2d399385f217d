import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAD_TOLERANCE, droppedTail, wholeWindowCount, windowSamples } from '../../src/audio/windows.js';

test('whole windows: a trailing part is dropped unless at most 10 ms is missing, which is zero-padded', () => {
  assert.equal(wholeWindowCount(480000), 10);
  assert.equal(wholeWindowCount(479999), 10, 'a TAU clip one sample short keeps its tenth window');
  assert.equal(wholeWindowCount(480000 - PAD_TOLERANCE), 10);
  assert.equal(wholeWindowCount(480000 - PAD_TOLERANCE - 1), 9);
  assert.equal(wholeWindowCount(47000), 0);
  assert.equal(droppedTail(480001), 1);
  assert.equal(droppedTail(479999), 0);
  assert.equal(droppedTail(60000), 12000);
});

test('window samples: views inside the recording, a zero-padded copy at its end', () => {
  const x = Float32Array.from({ length: 95999 }, (_, i) => i + 1);
  const first = windowSamples(x, 0);
  assert.equal(first.length, 48000);
  assert.equal(first.buffer, x.buffer, 'no copy for a window inside the recording');
  const last = windowSamples(x, 1);
  assert.equal(last.length, 48000);
  assert.equal(last[47998], 95999);
  assert.equal(last[47999], 0);
});
