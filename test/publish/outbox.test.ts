/**
 * The durable outbox on a real file system: no disk write while the broker acknowledges, write-ahead when it does
 * not, restart and SIGKILL recovery in order, bounds, torn lines, fsync pacing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Outbox } from '../../src/publish/outbox.js';
import { RuntimeFile } from '../../src/state/runtime-file.js';
import { tempDir } from '../helpers/media.js';
import { drainOutbox, openOutbox as open, WINDOW_TOPIC as TOPIC } from '../helpers/outbox.js';
import { REPO_ROOT } from '../helpers/paths.js';

const payload = (seq: number) => JSON.stringify({ schemaVersion: 1, seq, label: 'park' });

const drain = (outbox: Outbox) => drainOutbox(outbox).map((e) => e.seq);

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.rec'));

test('while the broker acknowledges within a second, nothing is written to disk', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const outbox = open(dir, clock);
  for (let seq = 0; seq < 600; seq++) {
    outbox.push(seq, TOPIC, payload(seq), clock.t, false);
    const entry = outbox.takeNext()!;
    clock.t += 20;
    outbox.ack(entry);
    clock.t += 980;
    outbox.tick();
  }
  assert.deepEqual(outbox.io, {
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
    failures: 0,
  });
  assert.deepEqual(segments(dir), []);
  assert.equal(outbox.length, 0);
});

test('a window unacknowledged past writeAheadAfterMs is written ahead; its ack deletes the segment', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const outbox = open(dir, clock);
  outbox.push(7, TOPIC, payload(7), clock.t, false);
  const entry = outbox.takeNext()!;
  clock.t += 500;
  outbox.tick();
  assert.equal(outbox.io.writes, 0, 'not yet: the ack may still come');
  clock.t += 600;
  outbox.tick();
  assert.equal(outbox.io.writes, 1);
  assert.equal(segments(dir).length, 1);
  outbox.ack(entry);
  assert.deepEqual(segments(dir), [], 'an acknowledged segment is deleted');
});

test('windows queued during an outage survive a restart without close (SIGKILL) and come back in seq order', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const first = open(dir, clock, { segmentBytes: 2000 });
  for (let seq = 100; seq < 150; seq++) first.push(seq, TOPIC, payload(seq), clock.t + seq, true);
  assert.ok(segments(dir).length > 1, 'small segments rotate');
  // No close(): the process is gone. A new one reads the segments.
  const second = open(dir, clock);
  assert.equal(second.length, 50);
  assert.deepEqual(
    drain(second),
    Array.from({ length: 50 }, (_, i) => 100 + i),
  );
  assert.deepEqual(segments(dir), [], 'every segment deleted once its windows are acknowledged');
});

test('a real SIGKILL right after the appends loses nothing (the page cache outlives the process)', () => {
  const dir = tempDir();
  const script = `
    import { Outbox } from './src/publish/outbox.ts';
    const outbox = new Outbox({ dir: ${JSON.stringify(dir)}, maxBytes: 1 << 20, maxAgeMs: 3600000, syncIntervalMs: 60000, writeAheadAfterMs: 1000 });
    for (let seq = 0; seq < 20; seq++) outbox.push(seq, 'a/b/window', JSON.stringify({ seq }), Date.now(), true);
    process.kill(process.pid, 'SIGKILL');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const clock = { t: Date.now() };
  assert.deepEqual(
    drain(open(dir, clock)),
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('in flight when the connection drops: written ahead at once and sent again first, in order', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const outbox = open(dir, clock);
  for (let seq = 0; seq < 3; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, false);
  outbox.takeNext();
  outbox.takeNext();
  outbox.requeueSent();
  assert.equal(outbox.io.writes, 1, 'one append for the three unacknowledged windows');
  outbox.push(3, TOPIC, payload(3), clock.t, true);
  assert.deepEqual(drain(outbox), [0, 1, 2, 3]);
});

test('bounds: past maxBytes or maxAgeMs the oldest windows are dropped and counted, also on reload', () => {
  const dir = tempDir();
  const clock = { t: 10_000_000 };
  const one = Buffer.byteLength(payload(10)) + TOPIC.length + 24;
  const acked = path.join(tempDir(), 'acked');
  const outbox = open(dir, clock, { maxBytes: one * 5, acked: new RuntimeFile(acked) });
  for (let seq = 10; seq < 18; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, true);
  assert.equal(outbox.length, 5);
  assert.equal(outbox.dropped, 3);
  const aged = open(dir, { t: clock.t + 3600_001 }, { acked: new RuntimeFile(acked) });
  assert.equal(aged.length, 0, 'older than maxAgeMs at start');
  assert.equal(aged.dropped, 5);
  assert.deepEqual(segments(dir), []);
});

test('a line torn by a power cut is skipped and counted; the lines before it are kept', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const outbox = open(dir, clock);
  for (let seq = 0; seq < 3; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, true);
  appendFileSync(path.join(dir, segments(dir)[0]!), `3\t${clock.t}\t${TOPIC}\t{"schemaVersion":1,"se`);
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1);
  assert.deepEqual(drain(reloaded), [0, 1, 2]);
});

test('what the broker acknowledged before a SIGKILL is not sent again (acked seq kept in RAM)', () => {
  const dir = tempDir();
  const acked = path.join(tempDir(), 'acked');
  const clock = { t: 1_000_000 };
  const first = open(dir, clock, { acked: new RuntimeFile(acked) });
  for (let seq = 0; seq < 10; seq++) first.push(seq, TOPIC, payload(seq), clock.t, true);
  for (let i = 0; i < 4; i++) first.ack(first.takeNext()!);
  const second = open(dir, clock, { acked: new RuntimeFile(acked) });
  assert.deepEqual(drain(second), [4, 5, 6, 7, 8, 9]);
});

test('an hour of outage: one append per window, at most one fsync per syncIntervalMs', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const outbox = open(dir, clock, { maxBytes: 64 << 20 });
  for (let seq = 0; seq < 3600; seq++) {
    outbox.push(seq, TOPIC, payload(seq), clock.t, true);
    clock.t += 1000;
    outbox.tick();
  }
  assert.equal(outbox.io.writes, 3600);
  const segmentSyncs = outbox.io.segmentsCreated;
  assert.ok(outbox.io.fsyncs - segmentSyncs <= 3600 / 5 + 1, `fsyncs ${outbox.io.fsyncs}`);
  assert.ok(outbox.io.fsyncs - segmentSyncs >= 3600 / 5 - 1, `fsyncs ${outbox.io.fsyncs}`);
  outbox.close();
  assert.equal(open(dir, clock).length, 3600);
});
