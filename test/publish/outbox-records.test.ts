/**
 * What the outbox reads back from a damaged card: checksummed records, bad ones skipped and reported with their
 * segment and offset, never hiding the intact ones after them, never moving the seq floor; the previous release's
 * segments still load. Also the wider write-ahead (queued windows, not only those in flight), the monotonic age bound
 * and the on-disk bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Outbox } from '../../src/publish/outbox.js';
import { tempDir } from '../helpers/media.js';
import { drainOutbox, openOutbox as open, WINDOW_TOPIC as TOPIC } from '../helpers/outbox.js';
import { memoryLogger } from '../capture/support.js';

const payload = (seq: number) => JSON.stringify({ schemaVersion: 1, seq, label: 'park', pad: 'x'.repeat(60) });

const drain = (outbox: Outbox) => drainOutbox(outbox).map((e) => e.payload);
const seqsOf = (payloads: string[]) => payloads.map((p) => (JSON.parse(p) as { seq: number }).seq);
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => /\.(rec|seg)$/.test(f));

/** Ten windows written as one segment; returns its path and each record's offset. */
function tenWritten(dir: string, clock: { t: number }): { file: string; offsets: number[] } {
  const outbox = open(dir, clock);
  for (let seq = 100; seq < 110; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, true);
  const file = path.join(dir, segmentFiles(dir)[0]!);
  const text = readFileSync(file, 'latin1');
  const offsets = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) offsets.push(i + 1);
  return { file, offsets };
}

function flip(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at]! ^ 0x04;
  writeFileSync(file, bytes);
}

test('a flipped byte in a middle record: that record is skipped and reported with its offset; every other is delivered', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const { file, offsets } = tenWritten(dir, clock);
  flip(file, offsets[4]! + 70); // inside the payload of seq 104: still plausible JSON-looking text
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1);
  assert.deepEqual(reloaded.damaged, [{ file, offset: offsets[4], cut: false }]);
  const sent = drain(reloaded);
  for (const p of sent) JSON.parse(p); // nothing invalid is ever published
  assert.deepEqual(seqsOf(sent), [100, 101, 102, 103, 105, 106, 107, 108, 109]);
});

test('a flipped digit of a seq never moves the seq floor', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const { file, offsets } = tenWritten(dir, clock);
  // seq 109 → 10d? No: flip its first digit: '1' (0x31) ^ 0x04 = '5': seq 509 would move the floor by 400.
  flip(file, offsets[9]!);
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1);
  assert.equal(reloaded.lastSeq, 108, 'the floor is the highest intact seq');
});

test('a flipped newline glues two records: both are found inside the line', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const { file, offsets } = tenWritten(dir, clock);
  flip(file, offsets[6]! - 1); // '\n' ^ 0x04 = '\x0e'
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1, 'the glued line is reported');
  assert.deepEqual(
    seqsOf(drain(reloaded)),
    Array.from({ length: 10 }, (_, i) => 100 + i),
    'neither record is lost',
  );
});

test('a damaged record glued to an intact one: the intact one is still delivered', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const { file, offsets } = tenWritten(dir, clock);
  flip(file, offsets[3]! + 40);
  flip(file, offsets[4]! - 1);
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1);
  assert.deepEqual(seqsOf(drain(reloaded)), [100, 101, 102, 104, 105, 106, 107, 108, 109]);
});

test('a last record cut short is reported as cut (not guessed to be a power cut); the records before it are kept', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const { file } = tenWritten(dir, clock);
  const whole = statSync(file).size;
  appendFileSync(file, `110\t${clock.t}\t${TOPIC}\t{"schemaVersion":1,"se`);
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1);
  assert.equal(reloaded.damaged[0]!.cut, true);
  assert.equal(reloaded.damaged[0]!.offset, whole);
  assert.equal(drain(reloaded).length, 10);
});

test("the previous release's segments (.seg, no checksum) still load after an update: no window lost", () => {
  const dir = tempDir();
  const lines = [0, 1, 2].map((seq) => `${seq}\t1000000\t${TOPIC}\t${payload(seq)}\n`).join('');
  writeFileSync(path.join(dir, '000000000000-kx1.seg'), lines + `3\t1000000\t${TOPIC}\t{"torn`);
  const clock = { t: 1_000_000 };
  const reloaded = open(dir, clock);
  assert.equal(reloaded.corrupt, 1);
  reloaded.push(3, TOPIC, payload(3), clock.t, true); // the update writes the new format beside it
  assert.deepEqual(seqsOf(drain(reloaded)), [0, 1, 2, 3]);
  assert.deepEqual(segmentFiles(dir), [], 'the old segment is deleted once delivered');
});

test('queued windows behind those in flight are written ahead too, not only the 64 in flight', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const outbox = open(dir, clock);
  for (let seq = 0; seq < 100; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, false);
  for (let i = 0; i < 64; i++) outbox.takeNext();
  clock.t += 999;
  outbox.tick();
  assert.equal(outbox.io.writes, 0, 'not before the write-ahead delay');
  clock.t += 1;
  outbox.tick();
  // No close(): as after a SIGKILL, a new process reads what is on disk.
  assert.deepEqual(
    seqsOf(drain(open(dir, clock))),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('the age bound counts on the monotonic clock: a wall clock stepped at boot (no RTC) drops nothing', () => {
  const dir = tempDir();
  // The monotonic clock (the default starts at the wall time of process start, after NTP stepped it).
  const clock = { t: Date.parse('2026-06-01T12:00:00Z') };
  const outbox = open(dir, clock);
  // Captured while the wall clock still said 1970, before NTP stepped it.
  for (let seq = 0; seq < 5; seq++) outbox.push(seq, TOPIC, payload(seq), 1000 + seq * 1000, true);
  clock.t += 60_000;
  outbox.tick();
  assert.equal(outbox.length, 5, 'a minute old, not 56 years');
  assert.equal(outbox.dropped, 0);
  clock.t += 3600_000;
  outbox.tick();
  assert.equal(outbox.length, 0, 'an hour after queueing, the bound applies');
  assert.equal(outbox.dropped, 5);
});

test('the bound holds on disk too; mqttDropped equals the windows lost; a line when dropping starts and when it stops', () => {
  const dir = tempDir();
  const clock = { t: 1_000_000 };
  const log = memoryLogger();
  const maxBytes = 16 << 10;
  const outbox = open(dir, clock, { maxBytes, logger: log.logger });
  const diskBytes = () => segmentFiles(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
  let maxDisk = 0;
  for (let seq = 0; seq < 1000; seq++) {
    outbox.push(seq, TOPIC, payload(seq), clock.t, true);
    maxDisk = Math.max(maxDisk, diskBytes());
  }
  assert.ok(maxDisk <= maxBytes, `on disk at most maxBytes (${maxDisk} > ${maxBytes})`);
  const delivered = seqsOf(drain(open(dir, clock)));
  assert.equal(outbox.dropped, delivered[0], 'dropped = the gap before the first window delivered');
  assert.equal(outbox.dropped + outbox.length, 1000);
  const starts = log.lines.filter((l) => /dropping the oldest windows/.test(String(l.msg)));
  assert.equal(starts.length, 1, 'one line when the bound starts dropping, not one per window');
  drain(outbox);
  outbox.tick();
  const stops = log.lines.filter((l) => /below its bound again/.test(String(l.msg)));
  assert.equal(stops.length, 1);
  assert.equal(stops[0]!.dropped, outbox.dropped);
});
