/**
 * deploy/install-service.sh in a temporary root (--root): --config is resolved against the caller's directory, an
 * invalid or missing configuration is refused before anything is installed, and only the runtime is copied (never
 * models/work, where training keeps its features and frames).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/media.js';

const SCRIPT = path.join(REPO_ROOT, 'deploy', 'install-service.sh');

function install(cwd: string, args: string[]) {
  return spawnSync('bash', [SCRIPT, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
}

const config = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    device: { id: 'bench-1' },
    mqtt: { url: 'mqtt://broker.local:1883' },
    model: { bundle: '/var/lib/avscene/bundles/current' },
    ...extra,
  });

test('an unknown argument, a missing or an invalid --config change nothing', () => {
  const caller = tempDir('avscene-caller-');
  const r = install(caller, ['--bogus']);
  assert.equal(r.status, 64);
  assert.match(r.stderr, /unknown argument --bogus/);

  const missing = install(caller, ['--config', 'nope.json', '--root', 'root']);
  assert.equal(missing.status, 66);
  assert.match(
    missing.stderr,
    new RegExp(`--config ${caller}/nope\\.json: no such file`),
    "the path is the caller's, not the checkout's",
  );

  writeFileSync(path.join(caller, 'bad.json'), config({ mqtt: { url: 'http://not-a-broker' } }));
  const invalid = install(caller, ['--config', 'bad.json', '--root', 'root']);
  assert.equal(invalid.status, 78, invalid.stderr);
  assert.match(invalid.stderr, /mqtt\.url: is not a broker URL .*: value was "http:\/\/not-a-broker"/);
  assert.match(invalid.stderr, /bad\.json is not a valid configuration .* nothing was installed/);
  assert.ok(!existsSync(path.join(caller, 'root')), 'nothing was written');
});

test("a relative --config and --root are the caller's; the runtime is copied without models/work", () => {
  const caller = tempDir('avscene-caller-');
  mkdirSync(path.join(caller, 'conf'));
  writeFileSync(path.join(caller, 'conf', 'my.json'), config());
  // Training output in the checkout: must not travel (models/work is ignored by git and can be huge).
  const work = path.join(REPO_ROOT, 'models', 'work');
  const planted = !existsSync(work);
  if (planted) {
    mkdirSync(work);
    writeFileSync(path.join(work, 'frames.npy'), 'training data');
  }
  try {
    const r = install(caller, ['--config', 'conf/my.json', '--root', 'root']);
    assert.equal(r.status, 0, r.stderr + r.stdout);
  } finally {
    if (planted) rmSync(work, { recursive: true, force: true });
  }
  const root = path.join(caller, 'root');
  assert.equal(readFileSync(path.join(root, 'etc/avscene/config.json'), 'utf8'), config());
  assert.equal(
    statSync(path.join(root, 'etc/avscene/config.json')).mode & 0o777,
    0o640,
    'the config may hold the MQTT password',
  );
  assert.ok(existsSync(path.join(root, 'etc/systemd/system/avscene.service')));
  const app = path.join(root, 'opt/avscene');
  assert.deepEqual(readdirSync(path.join(app, 'models')).sort(), ['BUNDLE.md', 'bundles']);
  assert.ok(existsSync(path.join(app, 'node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node')));
  assert.ok(!existsSync(path.join(app, 'node_modules/typescript')), 'production node_modules only');
  const version = spawnSync(process.execPath, [path.join(app, 'dist/cli/main.js'), '--version'], { encoding: 'utf8' });
  assert.equal(
    version.stdout.trim(),
    (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
  );
});
