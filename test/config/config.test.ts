/** Every kind of invalid configuration stops start-up with exit 78 and a message naming the key, the value and the fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliEnv, runCli } from '../helpers/cli.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/media.js';

const EX_CONFIG = 78;

function expectConfigError(args: string[], env: NodeJS.ProcessEnv, ...mentions: Array<string | RegExp>): void {
  const r = runCli(args, env, 30_000);
  assert.equal(r.status, EX_CONFIG, `exit code for ${args.join(' ')}: ${r.stderr}`);
  for (const m of mentions) {
    if (typeof m === 'string') assert.ok(r.stderr.includes(m), `stderr mentions ${m}:\n${r.stderr}`);
    else assert.match(r.stderr, m);
  }
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user error');
}

const dir = tempDir();
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

test('a value outside an enumeration names the key, the value and the allowed values', () => {
  expectConfigError(
    ['config', '--print', '--set', 'audio.source=microphone'],
    {},
    'audio.source',
    '"microphone"',
    'alsa',
    'file',
  );
});

test('a device id with spaces is refused', () => {
  expectConfigError(['config', '--print', '--set', 'device.id=front door'], {}, 'device.id', '"front door"');
});

test('a boolean from the environment must be true or false', () => {
  expectConfigError(['config', '--print'], { AVSCENE_AUDIO_LOOP: 'maybe' }, 'audio.loop', 'true or false', '"maybe"');
});

test('a count must be a whole number', () => {
  expectConfigError(
    ['config', '--print', '--set', 'inference.threads=two'],
    {},
    'inference.threads',
    '"two"',
    'whole number',
  );
});

test('the bad value is named once', () => {
  const r = runCli(['config', '--print', '--set', 'inference.threads=abc'], {}, 30_000);
  assert.equal(r.status, EX_CONFIG);
  assert.equal(r.stderr.split('value was "abc"').length - 1, 1, r.stderr);
});

test('inference.queue must hold at least one window (0 is refused, not read as 1)', () => {
  expectConfigError(
    ['config', '--print', '--set', 'inference.queue=0'],
    {},
    'inference.queue',
    'from 1 to',
    'value was 0',
  );
});

test('http.listen must be host:port or empty', () => {
  expectConfigError(['config', '--print', '--set', 'http.listen=8766'], {}, 'http.listen', 'host:port', '"8766"');
  assert.equal(runCli(['config', '--print', '--set', 'http.listen='], {}, 30_000).status, 0);
  assert.equal(runCli(['config', '--print', '--set', 'http.listen=[::1]:0'], {}, 30_000).status, 0);
});

test('a port must be within 0–65535', () => {
  expectConfigError(
    ['config', '--print', '--set', 'mqtt.embeddedPort=70000'],
    {},
    'mqtt.embeddedPort',
    '70000',
    'from 0 to 65535',
  );
});

test('an unknown provider list is refused', () => {
  expectConfigError(['config', '--print', '--set', 'inference.providers=gpu'], {}, 'inference.providers', '"gpu"');
});

test('an unknown key in the config file is named', () => {
  expectConfigError(
    ['config', '--print', '--config', file('typo.json', '{"audio": {"sorce": "alsa"}}')],
    {},
    'audio.sorce',
    'unknown config key',
  );
});

test('a config file that is not JSON, or missing, says so', () => {
  expectConfigError(
    ['config', '--print', '--config', file('broken.json', '{"device": ')],
    {},
    'broken.json',
    'not valid JSON',
  );
  expectConfigError(
    ['config', '--print', '--config', path.join(dir, 'nope.json')],
    {},
    /config file .*nope\.json: not found/,
  );
});

test('a config file the user may not read is said to be unreadable, not invalid JSON', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run the CLI as another user');
  const secret = file('root-only.json', '{"device": {"id": "x"}}');
  chmodSync(secret, 0o600);
  chmodSync(dir, 0o755);
  const r = spawnSync(process.execPath, [CLI, 'config', '--print', '--config', secret], {
    cwd: '/',
    env: { ...cliEnv(), HOME: '/nonexistent' },
    encoding: 'utf8',
    uid: 65534, // nobody
    gid: 65534,
    timeout: 30_000,
  });
  assert.equal(r.status, EX_CONFIG, r.stderr);
  assert.match(
    r.stderr,
    /config file .*root-only\.json: cannot be read by user nobody \(permission denied\): run as root/,
  );
  assert.doesNotMatch(r.stderr, /JSON|EACCES/);
});

test('config --print reads /etc/avscene/config.json when it exists, as the service and the bundle commands do', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to lay an overlay on /etc in a private mount namespace');
  // A private mount namespace with a writable overlay on /etc: the real /etc is not touched.
  const work = tempDir('avscene-etc-');
  mkdirSync(path.join(work, 'upper', 'avscene'), { recursive: true });
  mkdirSync(path.join(work, 'work'));
  writeFileSync(path.join(work, 'upper', 'avscene', 'config.json'), JSON.stringify({ device: { id: 'from-etc' } }));
  const inNamespace = (args: string) =>
    spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t overlay overlay -o lowerdir=/etc,upperdir=${work}/upper,workdir=${work}/work /etc && exec "$0" "$@"`,
        process.execPath,
        CLI,
        ...args.split(' '),
      ],
      { cwd: REPO_ROOT, env: cliEnv(), encoding: 'utf8', timeout: 30_000 },
    );
  const printed = inNamespace('config --print');
  assert.equal(printed.status, 0, printed.stderr);
  assert.equal((JSON.parse(printed.stdout) as { device: { id: string } }).device.id, 'from-etc');
  const other = file('other.json', JSON.stringify({ device: { id: 'from-flag' } }));
  const flagged = inNamespace(`config --print --config ${other}`);
  assert.equal((JSON.parse(flagged.stdout) as { device: { id: string } }).device.id, 'from-flag', '--config wins');
  writeFileSync(path.join(work, 'upper', 'avscene', 'config.json'), '{"device": ');
  const broken = inNamespace('config --print');
  assert.equal(broken.status, EX_CONFIG);
  assert.match(broken.stderr, /config file \/etc\/avscene\/config\.json is not valid JSON/);
});

test('files the daemon needs must exist', () => {
  expectConfigError(
    ['config', '--print', '--set', 'audio.file=/nonexistent/a.wav'],
    {},
    'audio.file',
    '/nonexistent/a.wav',
    'not found',
  );
  expectConfigError(['config', '--print', '--set', 'video.source=file'], {}, 'video.file', 'empty');
  expectConfigError(
    ['config', '--print', '--set', 'model.bundle=/nonexistent/bundle'],
    {},
    'model.bundle',
    'not a directory',
  );
});

test('a stream must be a URL or a GStreamer pipeline ending in appsink', () => {
  expectConfigError(
    ['config', '--print', '--set', 'video.source=url', '--set', 'video.file=camera.local/stream'],
    {},
    'video.file',
    '"camera.local/stream"',
    'rtsp://',
  );
  // README § Video: a Jetson CSI camera through nvarguscamerasrc.
  const pipeline =
    'nvarguscamerasrc ! nvvidconv ! videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=2';
  const r = runCli(['config', '--print', '--set', 'video.source=url', '--set', `video.file=${pipeline}`], {}, 30_000);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(pipeline), r.stdout);
});

test('a --set flag without "=" is a configuration error', () => {
  expectConfigError(['config', '--print', '--set', 'audio.loop'], {}, '--set expects KEY=VALUE', '"audio.loop"');
});

test('a broker URL must be one', () => {
  expectConfigError(['config', '--print', '--set', 'mqtt.url=broker.local:1883'], {}, 'mqtt.url', 'mqtt://');
});

test('`run` refuses an invalid configuration before starting anything', () => {
  expectConfigError(['run', '--set', 'log.level=loud'], {}, 'log.level', '"loud"');
});

test('config --print shows the effective configuration with secrets masked; env beats file, flags beat env', () => {
  const cfg = file(
    'ok.json',
    JSON.stringify({ device: { id: 'from-file' }, mqtt: { password: 's3cret', topicPrefix: 'fromfile' } }),
  );
  const r = runCli(['config', '--print', '--config', cfg, '--set', 'mqtt.topicPrefix=fromflag'], {
    AVSCENE_DEVICE_ID: 'from-env',
    AVSCENE_MQTT_TOPIC_PREFIX: 'fromenv',
  });
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { device: { id: string }; mqtt: { password: string; topicPrefix: string } };
  assert.equal(printed.device.id, 'from-env');
  assert.equal(printed.mqtt.topicPrefix, 'fromflag');
  assert.notEqual(printed.mqtt.password, 's3cret');
  assert.ok(!r.stdout.includes('s3cret'));
});

test('state.dir defaults to $XDG_STATE_HOME/avscene (the service sets XDG_STATE_HOME=/var/lib), else ~/.local/state/avscene', () => {
  const stateDir = (env: NodeJS.ProcessEnv) =>
    (JSON.parse(runCli(['config', '--print'], env).stdout) as { state: { dir: string } }).state.dir;
  assert.equal(stateDir({ AVSCENE_STATE_DIR: undefined, XDG_STATE_HOME: '/var/lib' }), '/var/lib/avscene');
  assert.equal(
    stateDir({ AVSCENE_STATE_DIR: undefined, XDG_STATE_HOME: '', HOME: '/home/field' }),
    '/home/field/.local/state/avscene',
  );
});

test('a state.dir the daemon cannot create or write stops `run` with exit 78, naming the directory and the fix', () => {
  const notADir = file('plain-file', 'x');
  expectConfigError(
    ['run', '--set', `state.dir=${path.join(notADir, 'state')}`],
    {},
    'state.dir',
    path.join(notADir, 'state'),
    /create it .* or set state\.dir/,
  );
});

test('--help works for every command', () => {
  for (const cmd of ['run', 'classify', 'features', 'eval', 'bench', 'watch', 'config']) {
    const r = runCli([cmd, '--help']);
    assert.equal(r.status, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage:\s+avscene/);
  }
  const top = runCli(['--help']);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /classify/);
});
