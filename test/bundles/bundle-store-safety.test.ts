/**
 * The bundle store against hostile or broken input: names and versions that would climb out of the store, archives
 * that would fill the disk, staging left by a crash, a manifest naming a file in a look-alike sibling folder, errors
 * of `list --dir`, and a device whose active bundle was deleted (the daemon starts on the newest one that loads).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { killAll, runCli, sets, startCli, stopWithin5s } from '../helpers/cli.js';
import { contractViolation } from '../helpers/message-schemas.js';
import { tempDir } from '../helpers/media.js';
import { demoVersion, tarBundle } from '../helpers/bundles.js';

let src = '';
before(() => {
  src = tempDir('avscene-store-safety-');
});
after(killAll);

function bundle(store: string, args: string[], extra: string[] = ['--no-reload']) {
  return runCli(['bundle', ...args, '--dir', store, ...extra], {}, 60_000);
}

function ok(r: ReturnType<typeof runCli>): string {
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return r.stdout;
}

const current = (store: string) => readlinkSync(path.join(store, 'current'));

/** A copy of the demo bundle whose bundle.json has `patch` applied. */
function patched(folder: string, patch: Record<string, unknown>): string {
  const dir = demoVersion(src, '1.0.0', folder);
  const file = path.join(dir, 'bundle.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...patch }, null, 2));
  return dir;
}

test('a name or version that is not one safe path component is refused; nothing is written outside the store', () => {
  const root = tempDir('avscene-store-');
  const store = path.join(root, 'store', 'bundles');
  for (const [folder, patch] of [
    ['climb-version', { version: '1.1.0/../../../../outside' }],
    ['climb-name', { name: '../../outside' }],
    ['dotdot', { version: '..' }],
    ['slash', { name: 'a/b' }],
    ['space', { version: '1.0 beta' }],
  ] as const) {
    // The case both as a folder and as an archive; the others as folders (the check is the same code).
    const sources = [patched(folder, patch)];
    if (folder === 'climb-version')
      sources.push(tarBundle(patched(`${folder}-t`, patch), path.join(src, `${folder}.tar.gz`)));
    for (const source of sources) {
      const r = bundle(store, ['install', source]);
      assert.notEqual(r.status, 0, `${folder}: ${r.stderr}`);
      // The store's own check, or the bundle schema's pattern for names (versions have none).
      assert.match(
        r.stderr,
        /bundle\.json (name|version) ".*" may hold only letters, digits, "\.", "_" and "-"|\/name must match pattern/,
        folder,
      );
    }
  }
  assert.deepEqual(readdirSync(root), ['store'], 'nothing beside the store');
  assert.deepEqual(readdirSync(path.join(root, 'store')), ['bundles']);
  assert.deepEqual(readdirSync(store), [], 'no bundle, no current, no staging');
});

test('an archive or folder larger than model.maxBundleMB is refused before anything is written', () => {
  const store = path.join(tempDir('avscene-store-'), 'bundles');
  const big = demoVersion(src, '2.0.0');
  writeFileSync(path.join(big, 'padding.bin'), Buffer.alloc(3 << 20)); // not named in bundle.json: the archive counts it
  const archive = tarBundle(big, path.join(src, 'big.tar.gz')); // 5.6 MiB unpacked, a few KiB packed
  const r = bundle(store, ['install', archive, '--set', 'model.maxBundleMB=4']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /big\.tar\.gz unpacks to 5\.\d MiB, more than the 4\.0 MiB a bundle may take \(model\.maxBundleMB\); nothing was written/,
  );
  assert.ok(!existsSync(store), 'not even the store folder was created');
  const dir = bundle(store, ['install', demoVersion(src, '2.0.1'), '--set', 'model.maxBundleMB=1']);
  assert.equal(dir.status, 1);
  assert.match(dir.stderr, /unpacks to 2\.\d MiB, more than the 1\.0 MiB/);
  ok(bundle(store, ['install', archive, '--set', 'model.maxBundleMB=6']));

  // Links in an archive could point anywhere: refused, whatever their size.
  const linked = demoVersion(src, '2.0.2');
  execFileSync('ln', ['-s', '/etc/passwd', path.join(linked, 'passwd')]);
  const r2 = bundle(store, ['install', tarBundle(linked, path.join(src, 'linked.tar.gz'))]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /holds something that is neither a file nor a folder \(l.*passwd -> \/etc\/passwd\)/);
});

test('staging left by a crash is removed by the next store command; a running install keeps its own', () => {
  const store = tempDir('avscene-store-');
  ok(bundle(store, ['install', demoVersion(src, '3.0.0')]));
  const crashed = [
    '.incoming-999999-abcdef',
    '.incoming-0a1b2c3d4e5f',
    '.current-999999-0011',
    'installed.json.999999.tmp',
  ];
  for (const name of crashed.slice(0, 2)) {
    mkdirSync(path.join(store, name, 'archive'), { recursive: true });
    writeFileSync(path.join(store, name, 'archive', 'big.onnx'), 'x'.repeat(1000));
  }
  execFileSync('ln', ['-s', 'demo-audio-3.0.0', path.join(store, crashed[2]!)]);
  writeFileSync(path.join(store, crashed[3]!), '[]');
  const live = `.incoming-${process.pid}-feed`; // this test process is alive: an install in progress
  mkdirSync(path.join(store, live));
  ok(bundle(store, ['list']));
  assert.deepEqual(
    readdirSync(store).sort(),
    [live, 'current', 'demo-audio-3.0.0', 'installed.json'].sort(),
    'stale staging removed by list, the live one kept',
  );
  rmSync(path.join(store, live), { recursive: true });
});

test('a manifest naming a file in a sibling folder whose name starts with the bundle folder name is refused', () => {
  const store = tempDir('avscene-store-');
  // Named as in the store (<name>-<version>), so the sibling is a look-alike there too.
  const dir = demoVersion(src, '4.0.0', 'demo-audio-4.0.0');
  const sibling = path.join(src, 'demo-audio-4.0.0-evil');
  mkdirSync(sibling);
  const manifestFile = path.join(dir, 'bundle.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { heads: Record<string, { file: string }> };
  const [head] = Object.values(manifest.heads);
  cpSync(path.join(dir, head!.file), path.join(sibling, head!.file)); // same bytes: the SHA-256 would match
  head!.file = `../demo-audio-4.0.0-evil/${head!.file}`;
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  const r = bundle(store, ['install', dir]);
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /file "\.\.\/demo-audio-4\.0\.0-evil\/.*" lies outside the bundle directory/);
  assert.deepEqual(readdirSync(store), []);
});

test('with --keep 3: install A, B, roll back, install C, roll back again: current is A, never B', () => {
  const store = tempDir('avscene-store-');
  const keep = ['--keep', '3'];
  ok(bundle(store, ['install', demoVersion(src, '5.0.0'), ...keep]));
  ok(bundle(store, ['install', demoVersion(src, '5.1.0'), ...keep]));
  assert.match(ok(bundle(store, ['rollback'])), /current -> demo-audio-5\.0\.0 \(was demo-audio-5\.1\.0\)/);
  ok(bundle(store, ['install', demoVersion(src, '5.2.0'), ...keep]));
  assert.match(ok(bundle(store, ['rollback'])), /current -> demo-audio-5\.0\.0 \(was demo-audio-5\.2\.0\)/);
  assert.equal(current(store), 'demo-audio-5.0.0');
});

test('list and --keep errors say what is wrong: a file as --dir, a missing --dir, a negative --keep', () => {
  const notDir = bundle('/etc/passwd', ['list']);
  assert.equal(notDir.status, 1);
  assert.match(notDir.stderr, /^avscene: bundles directory \/etc\/passwd is not a directory: check --dir/m);
  const missing = bundle('/nonexistent/bundles', ['list']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /bundles directory \/nonexistent\/bundles does not exist: check --dir/);
  const keep = bundle(tempDir('avscene-store-'), ['install', demoVersion(src, '6.0.0'), '--keep', '-5']);
  assert.equal(keep.status, 64);
  assert.match(keep.stderr, /--keep must be a whole number of at least 2 .*, got -5/);
  for (const r of [notDir, missing, keep])
    assert.doesNotMatch(r.stderr, /E[A-Z]{3,}|ambiguous/, 'no errno, no parser jargon');
});

test('a deleted active bundle: the daemon starts on the newest installed one that loads, logs it and says so on info', async () => {
  const store = tempDir('avscene-store-');
  ok(bundle(store, ['install', demoVersion(src, '7.0.0')]));
  ok(bundle(store, ['install', demoVersion(src, '7.1.0')]));
  ok(bundle(store, ['install', demoVersion(src, '7.2.0')]));
  // 7.2.0 (active) deleted, 7.1.0 corrupt: 7.0.0 is the newest that loads.
  rmSync(path.join(store, 'demo-audio-7.2.0'), { recursive: true });
  writeFileSync(path.join(store, 'demo-audio-7.1.0', 'head-bark-audio.onnx'), 'corrupt');
  const daemon = startCli([
    'run',
    ...sets(`model.bundle=${path.join(store, 'current')}`, 'mqtt.embeddedPort=0', 'audio.loop=true'),
  ]);
  const fell = await daemon.untilLog(
    (l) => typeof l.msg === 'string' && l.msg.includes('cannot be used; running on'),
    60_000,
    'the fallback log line',
  );
  assert.equal(fell.level, 50, 'logged as an error');
  assert.equal(fell.running, path.join(store, 'demo-audio-7.0.0'));
  assert.match(String(fell.reason), /demo-audio-7\.2\.0/);
  const broker = await daemon.untilLog(
    (l) => typeof l.url === 'string' && /broker listening/.test(String(l.msg)),
    60_000,
    'the broker',
  );
  const client = await mqtt.connectAsync(String(broker.url));
  try {
    const info = await new Promise<Record<string, unknown>>((resolve) => {
      client.on('message', (_topic, payload) => resolve(JSON.parse(payload.toString()) as Record<string, unknown>));
      void client.subscribeAsync('avscene/+/info');
    });
    assert.deepEqual((info.model as { version: string }).version, '7.0.0');
    assert.deepEqual(info.fallback, { configured: path.join(store, 'current'), reason: fell.reason });
    assert.equal(contractViolation('avscene/avscene-demo/info', JSON.stringify(info)), null);
  } finally {
    await client.endAsync();
  }
  await stopWithin5s(daemon);
});
