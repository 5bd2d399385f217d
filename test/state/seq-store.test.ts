/** The window counter across clean stops, SIGKILL (RAM record) and power cuts (disk reservation). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import { SeqStore } from '../../src/state/seq-store.js';
import { atomicFileIo } from '../../src/state/atomic-file.js';
import { openRuntimeDir, runtimeDirFor } from '../../src/state/runtime-file.js';
import { StateDirHealth } from '../../src/state/state-dir-health.js';
import { fill, IS_ROOT, readOnlyView, tinyTmpfs } from '../helpers/mounts.js';
import { tempDir } from '../helpers/media.js';
import { memoryLogger } from '../capture/support.js';
import { ownRuntimeDir } from '../helpers/runtime-dir.js';

ownRuntimeDir(); // the RAM records these stores write are removed with it

const logger = createLogger('silent');
const ROOT_ONLY = IS_ROOT ? false : 'needs root (mounts file systems)';

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
  take(new SeqStore(dir, 'dev', logger, { reserve: 600 }), 1000);
  rmSync(runtimeDirFor(dir)!, { recursive: true });
  const after = new SeqStore(dir, 'dev', logger, { reserve: 600 });
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
  const store = new SeqStore(dir, 'dev', logger, { reserve: 600 });
  take(store, 86_400);
  const reservations = 86_400 / 600 + 1;
  assert.equal(atomicFileIo.fsyncs - before, reservations * 4, 'file + directory fsync per copy per reservation');
});

test('a floor from the outbox wins over an older counter', () => {
  const store = new SeqStore(tempDir(), 'dev', logger, { reserve: 600, floors: [{ source: 'outbox', next: 77 }] });
  assert.equal(store.next(), 77);
});

/** A run killed with SIGKILL (no close) after `n` windows; returns the highest seq it used. */
function killedRun(dir: string, n: number, options = {}): number {
  const used = take(new SeqStore(dir, 'dev', logger, { reserve: 600, ...options }), n);
  return used.at(-1)!;
}

for (const [damage, harm] of [
  ['emptied', (file: string) => writeFileSync(file, '')],
  ['filled with garbage', (file: string) => writeFileSync(file, '\u0000\u0000garbage{"next":')],
  ['torn', (file: string) => writeFileSync(file, readFileSync(file, 'utf8').slice(0, 7))],
  ['deleted', (file: string) => unlinkSync(file)],
] as const) {
  test(`seq file ${damage} and the RAM record gone after a SIGKILL: the count resumes above every seq used, and says so`, () => {
    const dir = tempDir();
    const last = killedRun(dir, 1000);
    harm(path.join(dir, 'seq-dev.json'));
    rmSync(runtimeDirFor(dir)!, { recursive: true });
    const { logger: log, text } = memoryLogger();
    const after = new SeqStore(dir, 'dev', log, { reserve: 600 });
    assert.equal(after.resume, 'recovered');
    assert.ok(after.next() > last, `resumed at ${after.peek() - 1}, the last used was ${last}`);
    assert.match(text(), damage === 'deleted' ? /seq-dev\.json is missing/ : /seq-dev\.json is unreadable/);
  });
}

test('both seq files lost: the outbox and the acknowledged record are floors, and a leftover .tmp counts', () => {
  const dir = tempDir();
  const last = killedRun(dir, 700);
  for (const f of ['seq-dev.json', 'seq-dev.copy.json']) writeFileSync(path.join(dir, f), '');
  rmSync(runtimeDirFor(dir)!, { recursive: true });
  const floors = [{ source: 'the acknowledged record', next: last + 1 }];
  assert.ok(new SeqStore(dir, 'dev', logger, { floors }).next() > last);
  writeFileSync(path.join(dir, 'seq-dev.json.tmp'), JSON.stringify({ next: 5000, clean: false }));
  rmSync(runtimeDirFor(dir)!, { recursive: true });
  assert.equal(new SeqStore(dir, 'dev', logger).next(), 5000 + 0, 'a reservation written but not yet renamed counts');
});

test('the RAM record of another RAM folder does not win over a higher reservation on disk (and the reverse)', () => {
  const dir = tempDir();
  const service = mkdtempSync('/dev/shm/avscene-test-service-');
  const shell = mkdtempSync('/dev/shm/avscene-test-shell-');
  try {
    // The service counts to 100 and is killed; a login shell's run (another RAM folder) counts on to 900 and stops.
    killedRun(dir, 100, { runtimeDir: service });
    const other = new SeqStore(dir, 'dev', logger, { reserve: 600, runtimeDir: shell });
    const used = take(other, 300);
    other.close();
    const { logger: log, text } = memoryLogger();
    const again = new SeqStore(dir, 'dev', log, { reserve: 600, runtimeDir: service });
    assert.ok(
      again.next() > used.at(-1)!,
      `the service resumed at ${again.peek() - 1}, the shell used up to ${used.at(-1)}`,
    );
    assert.match(text(), /RAM record \(100\) does not belong to the reservation on disk/);
    // The reverse: a RAM record above the disk (the disk lost its newest reservation) wins too.
    const ahead = new SeqStore(dir, 'dev', logger, { reserve: 600, runtimeDir: shell });
    take(ahead, 2000);
    writeFileSync(path.join(dir, 'seq-dev.json'), JSON.stringify({ next: 10, clean: true }));
    writeFileSync(path.join(dir, 'seq-dev.copy.json'), JSON.stringify({ next: 10, clean: true }));
    assert.ok(new SeqStore(dir, 'dev', logger, { runtimeDir: shell }).next() >= ahead.peek());
  } finally {
    rmSync(service, { recursive: true, force: true });
    rmSync(shell, { recursive: true, force: true });
  }
});

test('a full state.dir: the count never stops, a restart on the still-full disk resumes above, and the reservation is written once space is back', {
  skip: ROOT_ONLY,
}, () => {
  const dir = tinyTmpfs(64);
  const first = new SeqStore(dir, 'dev', logger, { reserve: 50 });
  take(first, 10);
  fill(dir);
  const { logger: log, text } = memoryLogger();
  const health = new StateDirHealth(dir, log);
  const full = new SeqStore(dir, 'dev', log, { reserve: 50, health }); // a restart on the full disk (no throw)
  const used = take(full, 500);
  assert.ok(used[0]! >= 10, `resumed at ${used[0]}`);
  assert.equal(health.writable, false);
  assert.ok(health.failedWrites >= 1);
  assert.match(text(), /state\.dir cannot be written \(window counter reservation: ENOSPC\).*free space/);
  // SIGKILL on the still-full disk, then a restart on it: above all 500.
  const again = new SeqStore(dir, 'dev', logger, { reserve: 50 });
  assert.ok(again.next() > used.at(-1)!, `resumed at ${again.peek() - 1} after ${used.at(-1)}`);
  // Space comes back: the probe finds it, the pending reservation is written.
  rmSync(path.join(dir, 'ballast'));
  health.tryProbe();
  assert.equal(health.writable, true);
  const onDisk = JSON.parse(readFileSync(path.join(dir, 'seq-dev.json'), 'utf8')) as { next: number };
  assert.ok(onDisk.next > full.peek(), `reservation ${onDisk.next} covers the next seq ${full.peek()}`);
  assert.ok(!existsSync(path.join(dir, 'seq-dev.json.tmp')), 'a failed write leaves no partial file');
  health.close();
});

test('a read-only state.dir: the count goes on in RAM, and the RAM record keeps it exact across a SIGKILL', {
  skip: ROOT_ONLY,
}, () => {
  const real = tempDir();
  killedRun(real, 42);
  const dir = readOnlyView(real);
  const health = new StateDirHealth(dir, logger);
  const store = new SeqStore(dir, 'dev', logger, { health, runtimeDir: runtimeDirFor(real) });
  assert.equal(store.next(), 42, 'the RAM record agrees with the reservation it was written beside');
  take(store, 99);
  assert.equal(health.writable, false);
  assert.equal(new SeqStore(dir, 'dev', logger, { runtimeDir: runtimeDirFor(real) }).next(), 142);
  health.close();
});

test('a RAM folder planted as a link, owned by someone else or open to others is refused, and nothing is written through it', {
  skip: ROOT_ONLY,
}, () => {
  const stateDir = tempDir();
  const runtimeRoot = mkdtempSync('/dev/shm/avscene-test-xdg-');
  const victim = mkdtempSync('/dev/shm/avscene-test-victim-');
  try {
    const env = { XDG_RUNTIME_DIR: runtimeRoot };
    const base = path.join(runtimeRoot, 'avscene');
    // A link to another folder: not followed.
    symlinkSync(victim, base);
    const linked = openRuntimeDir(stateDir, env);
    assert.equal(linked.dir, null);
    assert.match(linked.problem!, /is a symbolic link/);
    assert.deepEqual(readdirSync(victim), [], 'nothing was created through the link');
    unlinkSync(base);
    // Someone else's folder.
    mkdirSync(base, { mode: 0o700 });
    chownSync(base, 4321, 4321);
    assert.match(openRuntimeDir(stateDir, env).problem!, /belongs to uid 4321/);
    chownSync(base, 0, 0);
    // The record folder open to others.
    const own = openRuntimeDir(stateDir, env);
    assert.ok(own.dir && own.problem === null, 'a folder of this user, mode 0700, is used');
    chmodSync(own.dir!, 0o777);
    assert.match(openRuntimeDir(stateDir, env).problem!, /mode 0777, not 0700/);
  } finally {
    rmSync(victim, { recursive: true, force: true });
    rmSync(runtimeRoot, { recursive: true, force: true });
  }
});

test('a planted record that is a link to another file is neither read nor written through', { skip: ROOT_ONLY }, () => {
  const stateDir = tempDir();
  const runtimeDir = mkdtempSync('/dev/shm/avscene-test-rec-');
  const victim = path.join(tempDir(), 'victim');
  writeFileSync(victim, '                 999999\n');
  symlinkSync(victim, path.join(runtimeDir, 'seq-dev'));
  try {
    const store = new SeqStore(stateDir, 'dev', logger, { runtimeDir });
    assert.equal(store.next(), 0, 'the planted value does not make the count skip');
    assert.equal(readFileSync(victim, 'utf8'), '                 999999\n', 'the link target is untouched');
  } finally {
    rmSync(runtimeDir, { recursive: true, force: true });
  }
});
