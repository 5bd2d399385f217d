/**
 * `avscene reload --pid PID --wait` (the unit's ExecReload, so what `systemctl reload` reports on systemd 252) against a
 * real daemon whose model.bundle is a plain link (no bundle store), with no reachable broker and no HTTP endpoint: it
 * returns 0 once the new bundle labels, 0 when nothing changed (not a stale refusal of an earlier reload), 1 with the
 * daemon's reason when the daemon refuses the bundle, and 1 after --timeout when the daemon is stopped (SIGSTOP).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { killAll, runCli, sets, startCli, stopWithin5s } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { demoVersion } from '../helpers/bundles.js';
import { ownRuntimeDir } from '../helpers/runtime-dir.js';

after(killAll);

interface Record {
  bundle: { version: string };
  reloads?: { requested: number; finished?: { request: number; outcome: string } };
}

test('reload --wait reports how the reload it asked for ended: swapped, unchanged, refused, or no answer in time', async (t) => {
  const runtime = ownRuntimeDir();
  if (runtime === null) return t.skip('no tmpfs at /dev/shm: the daemon keeps no RAM record');
  const dir = tempDir('avscene-reload-wait-');
  const link = path.join(dir, 'model');
  const pointAt = (target: string) => {
    symlinkSync(target, `${link}.tmp`);
    renameSync(`${link}.tmp`, link);
  };
  pointAt(demoVersion(dir, '1.0.0'));
  const v2 = demoVersion(dir, '2.0.0');
  // The same nets with two classes swapped: a hot swap keeps the class list, so the daemon refuses it.
  const reordered = demoVersion(dir, '3.0.0');
  const manifestFile = path.join(reordered, 'bundle.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { classes: string[] };
  [manifest.classes[0], manifest.classes[1]] = [manifest.classes[1]!, manifest.classes[0]!];
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');

  const daemon = startCli([
    'run',
    ...sets(
      'device.id=reload-wait',
      'audio.loop=true',
      'sources.realtime=true',
      'mqtt.url=mqtt://127.0.0.1:1', // nobody listens: the answer must not need a broker
      'http.listen=',
      `model.bundle=${link}`,
    ),
  ]);
  await daemon.untilLog((l) => l.msg === 'avscene running', 60_000, 'the daemon running');
  const pid = daemon.child.pid!;
  const record = () => JSON.parse(readFileSync(path.join(runtime, `.daemon-${pid}.json`), 'utf8')) as Record;
  const wait = (...extra: string[]) => runCli(['reload', '--pid', String(pid), '--wait', ...extra], {}, 60_000);

  const same = wait();
  assert.equal(same.status, 0, same.stdout + same.stderr);
  assert.match(same.stdout, new RegExp(`the daemon \\(pid ${pid}\\) found nothing to change`));

  pointAt(v2);
  const swapped = wait();
  assert.equal(swapped.status, 0, swapped.stdout + swapped.stderr);
  assert.match(swapped.stdout, new RegExp(`the daemon \\(pid ${pid}\\) swapped bundles: the new one labels`));
  // Read the moment it returned: the daemon already labels with 2.0.0.
  assert.equal(record().bundle.version, '2.0.0');
  await daemon.untilLog((l) => /^model bundle swapped: demo-audio 2\.0\.0/.test(String(l.msg)), 10_000, 'the swap');

  pointAt(reordered);
  const refused = wait();
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `the daemon \\(pid ${pid}\\) refused the bundle and keeps the running one: .*its classes \\[.*\\] differ from the running bundle's`,
    ),
  );
  assert.equal(record().bundle.version, '2.0.0');

  // The last reload that ended was a refusal: a new wait must answer for its own reload, not report that one.
  pointAt(v2);
  const again = wait();
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /found nothing to change/);
  assert.deepEqual(
    [record().reloads?.requested, record().reloads?.finished?.request, record().reloads?.finished?.outcome],
    [4, 4, 'unchanged'],
  );

  // A frozen daemon never answers: the wait gives up after --timeout (ExecReload's stays below systemd's).
  process.kill(pid, 'SIGSTOP');
  try {
    const t0 = Date.now();
    const frozen = wait('--timeout', '1.5');
    assert.equal(frozen.status, 1, frozen.stdout + frozen.stderr);
    assert.match(frozen.stderr, new RegExp(`the daemon \\(pid ${pid}\\) did not finish the reload within 1\\.5 s`));
    assert.ok(Date.now() - t0 < 15_000, `gave up after ${Date.now() - t0} ms`);
  } finally {
    process.kill(pid, 'SIGCONT');
  }

  // A process that is no avscene daemon keeps no record: said, and nothing signalled.
  const stranger = runCli(['reload', '--pid', String(process.pid), '--wait'], {}, 30_000);
  assert.equal(stranger.status, 1, stranger.stdout);
  assert.match(stranger.stderr, new RegExp(`the daemon \\(pid ${process.pid}\\) keeps no reload record`));

  const usage = runCli(['reload', '--wait'], {}, 30_000);
  assert.notEqual(usage.status, 0);
  assert.match(usage.stderr, /--wait needs --pid PID/);

  await stopWithin5s(daemon);
  assert.throws(() => readFileSync(path.join(runtime, `.daemon-${pid}.json`)), /ENOENT/, 'removed at a clean stop');
});
