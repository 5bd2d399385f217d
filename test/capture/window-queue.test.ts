import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowQueue } from '../../src/capture/window-queue.js';

test('drop-oldest keeps the newest items and counts what it dropped', async () => {
  const dropped: number[] = [];
  const q = new WindowQueue<number>(2, 'drop-oldest', (item) => dropped.push(item));
  for (const i of [1, 2, 3, 4]) await q.push(i);
  assert.deepEqual(dropped, [1, 2]);
  assert.equal(q.dropped, 2);
  assert.equal(await q.take(), 3);
  assert.equal(await q.take(), 4);
});

test('wait makes the producer wait for room instead of dropping', async () => {
  const q = new WindowQueue<number>(1, 'wait');
  await q.push(1);
  let second = false;
  const pushing = q.push(2).then(() => (second = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(second, false, 'the producer waits while the queue is full');
  assert.equal(await q.take(), 1);
  await pushing;
  assert.equal(await q.take(), 2);
  assert.equal(q.dropped, 0);
});

test('a waiting taker gets the next push; close drains then ends', async () => {
  const q = new WindowQueue<string>(4, 'drop-oldest');
  const taking = q.take();
  await q.push('a');
  assert.equal(await taking, 'a');
  await q.push('b');
  q.close();
  await q.push('ignored after close');
  assert.equal(await q.take(), 'b');
  assert.equal(await q.take(), undefined);
});

test('an item waiting for room when the queue closes is ignored, not added after the end', async () => {
  const q = new WindowQueue<number>(1, 'wait');
  await q.push(1);
  const waiting = q.push(2);
  q.close();
  await waiting;
  assert.equal(q.length, 1, 'only the item pushed before close() is queued');
  assert.equal(await q.take(), 1);
  assert.equal(await q.take(), undefined, 'the queue ends after what was pushed before close()');
});
