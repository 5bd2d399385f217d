/** The window counter across clean stops, SIGKILL (RAM record) and power cuts (disk reservation). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createLogger } from '../../src/log/logger.js';
import { SeqStore } from '../../src/state/seq-store.js';
import { atomicFileIo } from '../../src/state/atomic-file.js';
import { runtimeDirFor } from '../../src/state/runtime-file.js';
import { tempDir } from '../helpers/media.js';
import { ownRuntimeDir } from '../helpers/runtime-dir.js';

ownRuntimeDir(); // the RAM records these stores write are removed with it

const logger = createLogger('silent');
const take = (store: SeqStore, n: number) => Array.from({ length: n }, () => store.next());

test('the first start counts from 0; a clean stop continues exactly', () => {
  const dir = tempDir();
  const first = new SeqStore(dir, 'dev', logger);
  assert.equal(first.resume, 'first start');
  assert.deepEqual(take(first, 3), [0, 1, 2]);
  first.close();
  const second = new SeqStore(dir, 'dev', logger);
  assert.deepEqual(take(second, 2), [3, 4]);
});

test('SIGKILL (no close): the RAM record continues exactly', () => {
  const dir = tempDir();
  take(new SeqStore(dir, 'dev', logger), 1234);
  const again = new SeqStore(dir, 'dev', logger);
  assert.equal(again.resume, 'exact');
  assert.equal(again.next(), 1234);
});

test('a power cut (RAM record gone, no clean stop): resumes past every seq used, skipping at most `reserve`', () => {
  const dir = tempDir();
  take(new SeqStore(dir, 'dev', logger, 600), 1000);
  rmSync(runtimeDirFor(dir)!, { recursive: true });
  const after = new SeqStore(dir, 'dev', logger, 600);
  assert.equal(after.resume, 'unclean stop');
  const next = after.next();
  assert.ok(next >= 1000 && next <= 1600, `resumed at ${next}`);
});

test('a clean stop then a reboot (RAM record gone) continues exactly', () => {
  const dir = tempDir();
  const store = new SeqStore(dir, 'dev', logger);
  take(store, 50);
  store.close();
  rmSync(runtimeDirFor(dir)!, { recursive: true });
  const after = new SeqStore(dir, 'dev', logger);
  assert.equal(after.resume, 'clean stop');
  assert.equal(after.next(), 50);
});

test('a day of windows costs one disk reservation per `reserve` windows, not a write per window', () => {
  const dir = tempDir();
  const before = atomicFileIo.fsyncs;
  const store = new SeqStore(dir, 'dev', logger, 600);
  take(store, 86_400);
  const reservations = 86_400 / 600 + 1;
  assert.equal(atomicFileIo.fsyncs - before, reservations * 2, 'file + directory fsync per reservation');
});

test('a floor from the outbox wins over an older counter', () => {
  const store = new SeqStore(tempDir(), 'dev', logger, 600, 77);
  assert.equal(store.next(), 77);
});
