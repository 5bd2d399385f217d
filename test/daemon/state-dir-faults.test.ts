/**
 * state.dir faults with the real daemon, a real broker and real file systems: one daemon per state.dir (a second exits
 * 78 naming the first; a SIGKILL releases the lock), a seq file damaged while the RAM record is gone, and a start on a
 * read-only state.dir, which labels instead of exiting.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Collector, type Received } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli } from '../helpers/cli.js';
import { mosquittoForThisFile } from '../helpers/file-broker.js';
import { tempDir } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';
import { ownRuntimeDir } from '../helpers/runtime-dir.js';
import { fill, IS_ROOT, readOnlyView, tinyTmpfs } from '../helpers/mounts.js';
import { runtimeDirFor } from '../../src/state/runtime-file.js';

const broker = mosquittoForThisFile();
ownRuntimeDir(); // RAM records in this process's own folder, removed at exit
after(() => killAll());

const seqs = (messages: Received[]) =>
  messages.filter((m) => m.topic.endsWith('/window')).map((m) => (JSON.parse(m.payload) as { seq: number }).seq);

test('two daemons on one state.dir: the second exits 78 naming the first and the folder; the first labels on, no seq twice; a SIGKILL frees the lock', async () => {
  const device = 'lock';
  const stateDir = tempDir('avscene-lock-');
  const env = { AVSCENE_STATE_DIR: stateDir };
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/window`);
  const first = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  await sub.until((m) => m.length >= 2, 30_000, 'the first daemon labels');
  const second = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  let code: number | null | undefined;
  void second.exited.then((r) => (code = r.code));
  await waitFor(
    () => code !== undefined,
    30_000,
    'the second daemon exits',
    () => second.stdout().slice(-1000),
  );
  assert.equal(code, 78, second.stderr());
  assert.match(
    second.stderr(),
    new RegExp(`"${stateDir}" is in use by another avscene daemon \\(PID ${first.child.pid}\\)`),
  );
  const before = sub.messages.length;
  await sub.until((m) => m.length >= before + 2, 10_000, 'the first daemon goes on labelling');
  // The kernel releases the lock with the process, however it ends.
  first.child.kill('SIGKILL');
  await first.exited;
  const third = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  const usedBefore = Math.max(...seqs(sub.messages));
  await sub.until((m) => seqs(m).some((s) => s > usedBefore), 30_000, 'a new daemon labels after the SIGKILL');
  third.child.kill('SIGTERM');
  await third.exited;
  const all = seqs(sub.messages);
  assert.equal(new Set(all).size, all.length, `no seq twice: ${all.join(' ')}`);
  await sub.close();
});

test('seq file garbage and the RAM record gone after a SIGKILL: the next daemon publishes seqs above every one delivered', async () => {
  const device = 'garbage';
  const stateDir = tempDir('avscene-garbage-');
  const env = { AVSCENE_STATE_DIR: stateDir };
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/window`);
  const first = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  await sub.until((m) => m.length >= 3, 30_000, 'three windows delivered');
  first.child.kill('SIGKILL');
  await first.exited;
  const delivered = Math.max(...seqs(sub.messages));
  writeFileSync(path.join(stateDir, `seq-${device}.json`), 'garbage');
  rmSync(runtimeDirFor(stateDir)!, { recursive: true }); // a reboot
  const n = sub.messages.length;
  const second = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  await sub.until((m) => m.length > n, 30_000, 'the restarted daemon labels');
  const next = seqs(sub.messages).slice(n);
  assert.ok(
    next.every((s) => s > delivered),
    `resumed at ${next[0]}, ${delivered} was delivered`,
  );
  assert.ok(
    second.logs().some((l) => l.level === 50 && /seq-garbage\.json is unreadable \(not JSON\)/.test(String(l.msg))),
    'logged as an error naming the file',
  );
  second.child.kill('SIGTERM');
  await second.exited;
  await sub.close();
});

test('a read-only state.dir at start: the daemon labels (degraded, said once with the fix) instead of exiting 78', {
  skip: IS_ROOT ? false : 'needs root (mounts file systems)',
}, async () => {
  const device = 'readonly';
  // The card worked before: a first run left its state, then it went read-only.
  const real = tempDir('avscene-ro-real-');
  const before = startCli(daemonArgs(broker.url, device, 'sources.realtime=false'), { AVSCENE_STATE_DIR: real });
  assert.equal((await before.exited).code, 0, before.stderr());
  const stateDir = readOnlyView(real);
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  const daemon = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), { AVSCENE_STATE_DIR: stateDir });
  await sub.until(
    (m) => m.filter((x) => x.topic.endsWith('/window')).length >= 3,
    30_000,
    'labels from a read-only state.dir',
  );
  const said = daemon.logs().filter((l) => /state\.dir cannot be written .*EROFS.*remount/.test(String(l.msg)));
  assert.equal(said.length, 1, 'the fault is logged once, with the fix');
  daemon.child.kill('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  const health = sub
    .on(`avscene/${device}/health`)
    .map((m) => JSON.parse(m.payload) as Record<string, number>)
    .at(-1);
  assert.equal(health?.stateDirWritable, 0);
  await sub.close();
});

test('a restart on a still-full state.dir (64 KiB tmpfs): the daemon labels, with seqs above every one used before', {
  skip: IS_ROOT ? false : 'needs root (mounts file systems)',
}, async () => {
  const device = 'full';
  const stateDir = tinyTmpfs(64);
  const env = { AVSCENE_STATE_DIR: stateDir };
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/window`);
  const first = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  await sub.until((m) => m.length >= 2, 30_000, 'windows before the disk fills');
  fill(stateDir);
  const n = sub.messages.length;
  await sub.until((m) => m.length >= n + 2, 30_000, 'windows on the full disk');
  first.child.kill('SIGKILL');
  await first.exited;
  const used = Math.max(...seqs(sub.messages));
  const m = sub.messages.length;
  const second = startCli(daemonArgs(broker.url, device, 'audio.loop=true'), env);
  await sub.until((x) => x.length >= m + 3, 30_000, 'labels after a restart on the full disk');
  const after = seqs(sub.messages).slice(m);
  assert.ok(
    after.every((s) => s > used),
    `resumed at ${after[0]}, ${used} was used before`,
  );
  assert.ok(
    second.logs().some((l) => /state\.dir cannot be written .*ENOSPC.*free space/.test(String(l.msg))),
    'the full disk is logged with the fix',
  );
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0, second.stderr());
  await sub.close();
});
