/**
 * Hot swap end to end: the daemon labels a looping real-time file with a signed bundle installed by `avscene bundle
 * install`; installing a newer one swaps it in between two windows (no seq gap, no window lost, the model version in
 * the messages changes exactly there, `…/info` follows) and install returns once the daemon took it; a corrupt bundle,
 * a wrongly signed one and one with another class list are refused while the running one keeps labelling (the last
 * through bundle install, which then fails with the daemon's reason and puts `current` back). Real bundles, real
 * signatures, a real mosquitto broker, real SIGHUPs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { mosquittoForThisFile } from '../helpers/file-broker.js';
import { tempDir } from '../helpers/media.js';
import { demoVersion, keyPair, signBundle } from '../helpers/bundles.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const broker = mosquittoForThisFile();

interface Window {
  seq: number;
  window: { start: string; end: string };
  model: { name: string; version: string };
}
interface Info {
  software: string;
  model: { name: string; version: string; sha256: string; signed: boolean };
  since: string;
  lastReload?: { ok: boolean; error?: string };
}

interface BundleStatus {
  daemons: Array<{ pid: number; bundle: { version: string }; lastReload?: { ok: boolean } }>;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Points `current` at `dir` by hand (as a broken deploy script might), bypassing bundle install's checks. */
function pointCurrentAt(store: string, dir: string): void {
  const tmp = path.join(store, '.current-test');
  symlinkSync(dir, tmp);
  renameSync(tmp, path.join(store, 'current'));
}

function logsWith(daemon: RunningCli, msg: RegExp): Array<Record<string, unknown>> {
  return daemon.logs().filter((l) => typeof l.msg === 'string' && msg.test(l.msg));
}

test('a new bundle takes over between two windows; corrupt, wrongly signed and other-class ones are refused while the old one keeps labelling', async () => {
  const dir = tempDir('avscene-swap-');
  const store = path.join(dir, 'bundles');
  const release = keyPair(dir, 'release');
  const other = keyPair(dir, 'other');
  const v1 = demoVersion(dir, '1.0.0');
  const v2 = demoVersion(dir, '2.0.0');
  signBundle(v1, release.key);
  signBundle(v2, release.key);
  const install = (bundle: string, extra: string[]) =>
    runCli(['bundle', 'install', bundle, '--dir', store, '--public-key', release.pub, ...extra]);
  assert.equal(install(v1, ['--no-reload']).status, 0);

  const device = 'swap';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  const windows = () => sub.on(`avscene/${device}/window`).map((m) => JSON.parse(m.payload) as Window);
  const infos = () => sub.on(`avscene/${device}/info`).map((m) => JSON.parse(m.payload) as Info);
  const daemon = startCli(
    daemonArgs(
      broker.url,
      device,
      'audio.loop=true',
      'sources.realtime=true',
      `model.bundle=${path.join(store, 'current')}`,
      `model.publicKey=${release.pub}`,
    ),
  );
  const pid = String(daemon.child.pid);
  await waitFor(() => windows().length >= 2, 60_000, 'two windows of 1.0.0');
  const first = infos().at(-1)!;
  assert.deepEqual(first.model, {
    name: 'demo-audio',
    version: '1.0.0',
    sha256: sha256(path.join(v1, 'bundle.json')),
    signed: true,
  });
  assert.equal(
    first.software,
    (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
  );

  // The daemon's record in the store tells bundle install (and `bundle status`) what it labels with.
  const status = () => JSON.parse(runCli(['bundle', 'status', '--json', '--dir', store]).stdout) as BundleStatus;
  assert.deepEqual(
    status().daemons.map((d) => [d.pid, d.bundle.version]),
    [[daemon.child.pid, '1.0.0']],
  );

  // install verifies, flips current, signals the daemon and returns once the daemon labels with the new bundle.
  const installed = install(v2, []);
  assert.equal(installed.status, 0, installed.stderr);
  assert.match(installed.stdout, new RegExp(`the running daemon \\(pid ${pid}\\) labels with it`));
  assert.equal(status().daemons[0]!.bundle.version, '2.0.0', 'the daemon took it before install returned');
  await waitFor(() => windows().filter((w) => w.model.version === '2.0.0').length >= 2, 60_000, 'windows of 2.0.0');
  const swapped = logsWith(daemon, /^model bundle swapped/);
  assert.equal(swapped.length, 1, daemon.stdout().slice(-3000));
  for (const key of ['validateMs', 'sessionsMs', 'warmUpMs'])
    assert.equal(typeof swapped[0]![key], 'number', `the swap log gives ${key}`);
  assert.deepEqual(infos().at(-1)!.model, {
    name: 'demo-audio',
    version: '2.0.0',
    sha256: sha256(path.join(v2, 'bundle.json')),
    signed: true,
  });
  assert.equal(infos().at(-1)!.lastReload?.ok, true);

  // A corrupt bundle (signed, but an ONNX file changed since) and a bundle signed with another key: both refused.
  const corrupt = demoVersion(dir, '3.0.0');
  signBundle(corrupt, release.key);
  writeFileSync(path.join(corrupt, 'head-logmel-audio.onnx'), 'truncated');
  pointCurrentAt(store, corrupt);
  assert.equal(runCli(['reload', '--pid', pid]).status, 0);
  await waitFor(() => logsWith(daemon, /^reload refused/).length === 1, 60_000, 'the corrupt bundle refused');
  assert.match(
    String(logsWith(daemon, /^reload refused/)[0]!.err),
    /head-logmel-audio\.onnx: SHA-256 is .*Re-export the bundle/,
  );
  await waitFor(() => infos().at(-1)?.lastReload?.ok === false, 60_000, 'info naming the refusal');
  assert.match(infos().at(-1)!.lastReload!.error!, /SHA-256/);
  assert.equal(infos().at(-1)!.model.version, '2.0.0', 'info still names the running bundle');

  const forged = demoVersion(dir, '4.0.0');
  signBundle(forged, other.key);
  pointCurrentAt(store, forged);
  daemon.child.kill('SIGHUP');
  await waitFor(() => logsWith(daemon, /^reload refused/).length === 2, 60_000, 'the wrongly signed bundle refused');
  assert.match(
    String(logsWith(daemon, /^reload refused/)[1]!.err),
    /bundle\.sig: does not verify against .*release\.pub/,
  );
  pointCurrentAt(store, 'demo-audio-2.0.0');

  // The same nets with two classes swapped: every published label and probability would change meaning mid-run. It
  // passes install's own checks; the daemon refuses it, and install says so, puts `current` back and removes it.
  const reordered = demoVersion(dir, '5.0.0');
  const manifestFile = path.join(reordered, 'bundle.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { classes: string[] };
  [manifest.classes[0], manifest.classes[1]] = [manifest.classes[1]!, manifest.classes[0]!];
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  signBundle(reordered, release.key);
  const refused = install(reordered, []);
  assert.equal(refused.status, 1, refused.stdout);
  assert.match(
    refused.stderr,
    new RegExp(
      `the running daemon \\(pid ${pid}\\) refused the bundle and keeps labelling with demo-audio 2\\.0\\.0: .*its classes \\[.*\\] differ from the running bundle's`,
    ),
  );
  await waitFor(() => logsWith(daemon, /^reload refused/).length === 3, 10_000, 'the refusal in the log');
  assert.match(
    String(logsWith(daemon, /^reload refused/)[2]!.err),
    /its classes \[.*\] differ from the running bundle's .*Restart the daemon/,
  );
  assert.equal(readlinkSync(path.join(store, 'current')), 'demo-audio-2.0.0', 'current is back on the running bundle');
  assert.ok(!existsSync(path.join(store, 'demo-audio-5.0.0')), 'the refused bundle is removed again');
  assert.equal(status().daemons[0]!.lastReload?.ok, false);
  const afterRefusals = windows().length;
  await waitFor(() => windows().length >= afterRefusals + 2, 60_000, 'labelling goes on');

  daemon.child.kill('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  assert.deepEqual(status().daemons, [], 'a stopped daemon leaves no record: the next install does not wait for it');
  await waitFor(() => sub.on(`avscene/${device}/health`).length > 0, 10_000, 'health at stop');
  const health = JSON.parse(sub.on(`avscene/${device}/health`).at(-1)!.payload) as Record<string, number>;
  assert.equal(health.bundleSwaps, 1);
  assert.equal(health.bundleSwapFailures, 3);

  // Every window, in order, without a gap; the version switches once, from 1.0.0 to 2.0.0, and never back.
  const all = windows();
  all.forEach((w, i) =>
    assert.equal(w.seq, all[0]!.seq + i, `seq ${w.seq} follows ${all[0]!.seq + i - 1} without a gap`),
  );
  for (let i = 1; i < all.length; i++) {
    assert.equal(
      Date.parse(all[i]!.window.start),
      Date.parse(all[i - 1]!.window.end),
      'consecutive windows: none was dropped at the swap',
    );
  }
  const versions = all.map((w) => w.model.version);
  const at = versions.indexOf('2.0.0');
  assert.ok(at >= 2);
  assert.deepEqual(versions, [...Array(at).fill('1.0.0'), ...Array(versions.length - at).fill('2.0.0')]);
  await sub.close();
});

test('a daemon that does not take the bundle in time: install fails after --timeout, current goes back, and so does the daemon', async () => {
  const dir = tempDir('avscene-swap-timeout-');
  const store = path.join(dir, 'bundles');
  const install = (bundle: string, extra: string[]) => runCli(['bundle', 'install', bundle, '--dir', store, ...extra]);
  assert.equal(install(demoVersion(dir, '1.0.0'), ['--no-reload']).status, 0);
  const daemon = startCli(
    daemonArgs(
      broker.url,
      'swap-timeout',
      'audio.loop=true',
      'sources.realtime=true',
      `model.bundle=${path.join(store, 'current')}`,
    ),
  );
  const record = path.join(store, `.daemon-${daemon.child.pid}.json`);
  await waitFor(() => existsSync(record), 60_000, "the daemon's record in the store");

  // Stopped (SIGSTOP): alive, but it answers nothing.
  daemon.child.kill('SIGSTOP');
  const late = install(demoVersion(dir, '2.0.0'), ['--timeout', '2']);
  daemon.child.kill('SIGCONT');
  assert.equal(late.status, 1, late.stdout);
  assert.match(
    late.stderr,
    new RegExp(`the running daemon \\(pid ${daemon.child.pid}\\) did not take the bundle within 2 s`),
  );
  assert.equal(readlinkSync(path.join(store, 'current')), 'demo-audio-1.0.0');
  assert.ok(!existsSync(path.join(store, 'demo-audio-2.0.0')));
  // Woken up, it handles the reloads it was sent: `current` names its running bundle again, so nothing swaps.
  await daemon.untilLog(
    (l) => typeof l.msg === 'string' && l.msg.includes('still holds the running bundle'),
    60_000,
    'the daemon finding nothing to swap',
  );
  assert.equal((JSON.parse(readFileSync(record, 'utf8')) as { bundle: { version: string } }).bundle.version, '1.0.0');
  assert.deepEqual(logsWith(daemon, /^model bundle swapped/), []);
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.stderr());
});
