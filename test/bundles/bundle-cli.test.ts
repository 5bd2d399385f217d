/**
 * `avscene bundle install | rollback | list` on a temporary bundles directory, with real bundles (copies of the demo
 * bundle under other versions), real archives (tar) and real signatures (the toolkit's).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { demoVersion, keyPair, signBundle, tarBundle } from '../helpers/bundles.js';

let src = '';
before(() => {
  src = tempDir('avscene-bundle-src-');
});

/** `avscene bundle …` against `store`, never touching a daemon (no reload). */
function bundle(store: string, args: string[], extra: string[] = ['--no-reload']) {
  return runCli(['bundle', ...args, '--dir', store, ...extra]);
}

function ok(r: ReturnType<typeof runCli>): string {
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return r.stdout;
}

const current = (store: string) => readlinkSync(path.join(store, 'current'));

test('install flips current atomically, rollback goes back, list marks the active bundle', () => {
  const store = path.join(tempDir('avscene-store-'), 'bundles'); // created by the first install
  const out = ok(bundle(store, ['install', demoVersion(src, '1.0.0')]));
  assert.match(out, /installed demo-audio 1\.0\.0 \(sha256 [0-9a-f]{12}, unsigned\)/);
  assert.equal(current(store), 'demo-audio-1.0.0', 'current is a relative link to the bundle folder');
  assert.ok(lstatSync(path.join(store, 'current')).isSymbolicLink());

  // An archive, its folder at the top level.
  const archive = tarBundle(demoVersion(src, '1.1.0'), path.join(src, 'demo-1.1.0.tar.gz'));
  assert.match(
    ok(bundle(store, ['install', archive])),
    /current -> demo-audio-1\.1\.0 \(was demo-audio-1\.0\.0; `avscene bundle rollback` returns to it\)/,
  );
  assert.equal(current(store), 'demo-audio-1.1.0');
  assert.deepEqual(
    readdirSync(path.join(store, 'demo-audio-1.1.0')).sort(),
    readdirSync(demoVersion(src, '1.1.0', 'again')).sort(),
    'exactly the bundle files',
  );
  assert.deepEqual(
    readdirSync(store).filter((f) => f.startsWith('.')),
    [],
    'no staging folder or temporary link left behind',
  );

  const listed = ok(bundle(store, ['list']))
    .trimEnd()
    .split('\n');
  assert.equal(listed.length, 2);
  assert.match(listed[0]!, /^ {2}demo-audio-1\.0\.0 +demo-audio 1\.0\.0 +unsigned +installed /);
  assert.match(listed[1]!, /^\* demo-audio-1\.1\.0 +demo-audio 1\.1\.0/);

  assert.match(ok(bundle(store, ['rollback'])), /current -> demo-audio-1\.0\.0 \(was demo-audio-1\.1\.0\)/);
  assert.equal(current(store), 'demo-audio-1.0.0');
  const json = JSON.parse(ok(bundle(store, ['list', '--json']))) as Array<{ dir: string; active: boolean }>;
  assert.deepEqual(
    json.map((b) => [b.dir, b.active]),
    [
      ['demo-audio-1.0.0', true],
      ['demo-audio-1.1.0', false],
    ],
  );

  const none = bundle(store, ['rollback']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no bundle installed before demo-audio-1\.0\.0 is left .* to roll back to/);
  assert.equal(current(store), 'demo-audio-1.0.0', 'a failed rollback changes nothing');

  // Installing an installed bundle again just activates it; the same name and version with other content is refused.
  assert.match(
    ok(bundle(store, ['install', demoVersion(src, '1.1.0', 'same')])),
    /activated already installed demo-audio 1\.1\.0/,
  );
  const clash = demoVersion(src, '1.1.0', 'clash');
  const manifest = path.join(clash, 'bundle.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"description": "', '"description": "changed '));
  const r = bundle(store, ['install', clash]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /demo-audio-1\.1\.0 is already installed with a different bundle\.json .* give the new bundle its own version/,
  );
});

test('install keeps the newest --keep bundles and never deletes the active one or folders it did not install', () => {
  const store = tempDir('avscene-store-');
  mkdirSync(path.join(store, 'by-hand'));
  writeFileSync(path.join(store, 'by-hand', 'note'), 'copied by a field engineer');
  for (const v of ['2.0.0', '2.1.0', '2.2.0']) ok(bundle(store, ['install', demoVersion(src, v), '--keep', '2']));
  assert.deepEqual(
    readdirSync(store)
      .filter((f) => f.startsWith('demo'))
      .sort(),
    ['demo-audio-2.1.0', 'demo-audio-2.2.0'],
  );
  assert.ok(existsSync(path.join(store, 'by-hand', 'note')));
  // Roll back, then install: the bundle rolled back from goes first; the one it returned to is the new rollback target.
  ok(bundle(store, ['rollback']));
  assert.match(ok(bundle(store, ['list'])), /demo-audio-2\.2\.0 .* rolled back/);
  const out = ok(bundle(store, ['install', demoVersion(src, '2.3.0'), '--keep', '2']));
  assert.match(out, /\(was demo-audio-2\.1\.0; `avscene bundle rollback` returns to it\)/);
  assert.match(out, /removed older bundles \(--keep 2\): demo-audio-2\.2\.0/);
  assert.deepEqual(
    readdirSync(store)
      .filter((f) => f.startsWith('demo'))
      .sort(),
    ['demo-audio-2.1.0', 'demo-audio-2.3.0'],
  );
  assert.match(ok(bundle(store, ['rollback'])), /current -> demo-audio-2\.1\.0 \(was demo-audio-2\.3\.0\)/);
  assert.match(ok(bundle(store, ['list'])), /by-hand +no readable bundle\.json .* not installed by bundle install/);
  assert.equal(bundle(store, ['install', demoVersion(src, '2.4.0'), '--keep', '1']).status, 64);
});

test('a corrupt bundle, an archive without a bundle and a current that is a real folder are refused; nothing changes', () => {
  const store = tempDir('avscene-store-');
  ok(bundle(store, ['install', demoVersion(src, '3.0.0')]));
  const corrupt = demoVersion(src, '3.1.0');
  writeFileSync(path.join(corrupt, 'head-bark-audio.onnx'), 'not an onnx file');
  const r = bundle(store, ['install', corrupt]);
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /head-bark-audio\.onnx: SHA-256 is .* Re-export the bundle/);

  const empty = path.join(src, 'empty');
  mkdirSync(empty);
  writeFileSync(path.join(empty, 'README'), 'no bundle here');
  const archive = tarBundle(empty, path.join(src, 'empty.tar.gz'));
  const r2 = bundle(store, ['install', archive]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /holds no bundle\.json at its top level or in its only folder/);
  const r3 = bundle(store, ['install', path.join(src, 'nothing-here.tar.gz')]);
  assert.match(r3.stderr, /nothing-here\.tar\.gz not found: give a bundle directory/);

  assert.equal(current(store), 'demo-audio-3.0.0');
  assert.deepEqual(readdirSync(store).sort(), ['current', 'demo-audio-3.0.0', 'installed.json']);

  const manual = tempDir('avscene-store-');
  mkdirSync(path.join(manual, 'current'));
  const r4 = bundle(manual, ['install', demoVersion(src, '3.2.0')]);
  assert.match(r4.stderr, /current is not a symbolic link; move it away/);
});

test('with a public key, install takes only bundles signed with its private half', () => {
  const store = tempDir('avscene-store-');
  const keys = tempDir('avscene-keys-');
  const release = keyPair(keys, 'release');
  const other = keyPair(keys, 'other');
  const withKey = ['--no-reload', '--public-key', release.pub];

  const unsigned = demoVersion(src, '4.0.0');
  const r = bundle(store, ['install', unsigned], withKey);
  assert.equal(r.status, 78);
  assert.match(r.stderr, /bundle\.sig: is missing/);

  const wrong = demoVersion(src, '4.0.1');
  signBundle(wrong, other.key);
  const r2 = bundle(store, ['install', wrong], withKey);
  assert.equal(r2.status, 78);
  assert.match(r2.stderr, /does not verify against .*release\.pub/);
  assert.ok(!existsSync(path.join(store, 'current')), 'nothing was activated');

  const good = demoVersion(src, '4.1.0');
  signBundle(good, release.key);
  assert.match(
    ok(bundle(store, ['install', tarBundle(good, path.join(src, 'good.tar.gz'))], withKey)),
    /signature verified/,
  );
  assert.ok(existsSync(path.join(store, 'demo-audio-4.1.0', 'bundle.sig')), 'the signature travels with the bundle');
  // One meaning of "signed": verified against a key; a signature nobody checked says so.
  assert.match(
    ok(bundle(store, ['list'], withKey)),
    /\* demo-audio-4\.1\.0 +demo-audio 4\.1\.0 +signed, signature verified/,
  );
  assert.match(
    ok(bundle(store, ['list'])),
    /\* demo-audio-4\.1\.0 +demo-audio 4\.1\.0 +signature present, not verified \(no model\.publicKey\)/,
  );
  assert.match(
    ok(bundle(store, ['install', demoVersion(src, '4.1.0', 'again-4.1.0')])),
    /activated already installed demo-audio 4\.1\.0 \(sha256 [0-9a-f]{12}, signature present, not verified/,
  );
});
