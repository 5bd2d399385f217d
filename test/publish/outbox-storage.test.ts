/**
 * The outbox on storage that fails, as SD cards do: a tmpfs that fills up (ENOSPC, and a write cut short at the last
 * free page) and an ext4 card remounted read-only (EROFS). No write may throw; windows stay in memory; the fault is
 * reported once; writes resume by themselves (the probe) and nothing on disk is ever half a record. Root only (mounts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statfsSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { Outbox, type OutboxOptions } from '../../src/publish/outbox.js';
import { StateDirHealth } from '../../src/state/state-dir-health.js';
import { memoryLogger } from '../capture/support.js';
import { drainOutbox, outboxOptions, payloadSeqs, WINDOW_TOPIC as TOPIC } from '../helpers/outbox.js';
import { loopExt4, NEEDS_ROOT, tinyTmpfs, type Mounted } from '../helpers/filesystems.js';

const payload = (seq: number) => JSON.stringify({ schemaVersion: 1, seq, label: 'park', pad: 'x'.repeat(200) });
const mounts: Mounted[] = [];
after(() => {
  for (const m of mounts) m.unmount();
});

function setup(fs: Mounted, clock: { t: number }, extra: Partial<OutboxOptions> = {}) {
  mounts.push(fs);
  const dir = path.join(fs.dir, 'mqtt', 'dev', 'outbox');
  mkdirSync(dir, { recursive: true });
  const log = memoryLogger();
  const storage = new StateDirHealth(fs.dir, log.logger);
  after(() => storage.close());
  const options = outboxOptions(dir, clock, { probeMs: 5000, storage, ...extra });
  return { dir, log, storage, open: () => new Outbox(options) };
}

const drain = (outbox: Outbox) => payloadSeqs(drainOutbox(outbox));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('a full card (tmpfs): no append throws, the windows stay in memory, one error with the fix; free space and the probe writes them all', {
  skip: NEEDS_ROOT,
}, () => {
  const clock = { t: 1_000_000 };
  const { dir, log, storage, open } = setup(tinyTmpfs(64), clock);
  const outbox = open();
  for (let seq = 0; seq < 10; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, true);
  const fs = mounts.at(-1)!;
  fs.fill();
  for (let seq = 10; seq < 60; seq++) {
    outbox.push(seq, TOPIC, payload(seq), clock.t, true); // broker away: each would be written at once
    clock.t += 1000;
    outbox.tick();
  }
  assert.equal(outbox.length, 60, 'every window kept in memory');
  assert.equal(outbox.persisting, false);
  assert.equal(storage.writable, false);
  assert.ok(
    log.lines.some((l) => l.code === 'ENOSPC'),
    'the error names ENOSPC',
  );
  assert.ok(
    storage.failedWrites >= 1 && storage.failedWrites <= 11,
    `probed every 5 s, not per window (${storage.failedWrites})`,
  );
  const errors = log.lines.filter((l) => /state\.dir cannot be written/.test(String(l.msg)));
  assert.equal(errors.length, 1, 'logged once');
  assert.match(String(errors[0]!.msg), /ENOSPC.*free space/);
  fs.free();
  clock.t += 5000;
  outbox.tick();
  assert.equal(outbox.persisting, true, 'the probe found the card writable again');
  assert.equal(storage.writable, true);
  assert.ok(log.lines.some((l) => /takes writes again/.test(String(l.msg))));
  // As after a SIGKILL: a new process reads the disk. Every window, in order, none damaged.
  const reloaded = open();
  assert.equal(reloaded.corrupt, 0);
  assert.deepEqual(drain(reloaded), range(0, 60));
  void dir;
});

test('a write cut short at the last free page is cut back to its last whole record: nothing is glued, nothing damaged', {
  skip: NEEDS_ROOT,
}, () => {
  const clock = { t: 1_000_000 };
  const { dir, open } = setup(tinyTmpfs(64), clock);
  const fs = mounts.at(-1)!;
  fs.fill();
  // Leave exactly one free page: the next append (many records) is written short, then fails with ENOSPC.
  const filler = path.join(fs.dir, 'filler');
  const stat = statfsSync(fs.dir);
  assert.equal(stat.bavail, 0);
  truncateSync(filler, readFileSync(filler).length - 4096);
  const outbox = open();
  for (let seq = 0; seq < 40; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, false);
  outbox.requeueSent(); // the connection drops: all 40 in one append of ~10 KiB
  assert.equal(outbox.persisting, false);
  assert.ok(outbox.io.bytesWritten > 0, 'part of it was written');
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  const text = readFileSync(path.join(dir, files[0]!), 'utf8');
  assert.ok(text.endsWith('\n'), 'the segment ends with a whole record');
  const onDisk = open();
  assert.equal(onDisk.corrupt, 0, 'no partial record left behind');
  const written = onDisk.length;
  assert.ok(written > 0 && written < 40, `${written} whole records fit`);
  // The next append after freeing space starts on a whole record: nothing glued onto half a line.
  fs.free();
  clock.t += 5000;
  outbox.tick();
  assert.equal(outbox.persisting, true);
  const reloaded = open();
  assert.equal(reloaded.corrupt, 0);
  assert.deepEqual(drain(reloaded), range(0, 40));
});

test('ext4 made read-only by an I/O error while running (errors=remount-ro): nothing throws, windows kept and delivered from memory; after fsck the card holds whole records only', {
  skip: NEEDS_ROOT,
}, () => {
  const clock = { t: 1_000_000 };
  const card = loopExt4(8);
  const { storage, log, open } = setup(card, clock);
  const outbox = open();
  for (let seq = 0; seq < 20; seq++) outbox.push(seq, TOPIC, payload(seq), clock.t, true);
  clock.t += 5000;
  outbox.tick(); // fdatasync: these 20 are on the card before it fails
  card.forceError();
  for (let seq = 20; seq < 40; seq++) {
    outbox.push(seq, TOPIC, payload(seq), clock.t, true);
    clock.t += 1000;
    outbox.tick();
  }
  assert.equal(storage.writable, false);
  assert.ok(
    log.lines.some((l) => l.code === 'EROFS'),
    'the error names EROFS',
  );
  assert.equal(outbox.length, 40);
  // The broker is back: everything goes out in order from memory; the acknowledged segment cannot be deleted.
  assert.deepEqual(drain(outbox), range(0, 40));
  outbox.close(); // a clean stop on a read-only card: best effort, no throw
  card.remountAfterFsck();
  const reloaded = open();
  assert.equal(reloaded.corrupt, 0, 'no half record on the card');
  // Without a RAM record (a reboot), the windows of the undeletable segment go again: at least once, never lost.
  assert.deepEqual(drain(reloaded), range(0, 20));
});
