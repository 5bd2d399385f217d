/**
 * Credentials never show: passwords in URLs (MQTT, RTSP/HTTP cameras), in GStreamer pipelines and in sensitive keys are
 * masked in configuration printouts, log lines and errors. The end-to-end tests run the CLI with secrets everywhere and
 * grep everything it printed for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { cliEnv, runCli, sets } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { freePort } from '../helpers/mosquitto.js';
import { maskSecrets, maskSecretsDeep, rememberSecret } from '../../src/config/secrets.js';

test('URL passwords are masked as written; URLs without one, and other text, stay as they are', () => {
  const cases: Array<[string, string]> = [
    ['mqtt://user:pw@broker.local:1883', 'mqtt://user:***@broker.local:1883'],
    ['mqtts://u:p%40ss@broker:8883', 'mqtts://u:***@broker:8883'],
    ['rtsp://admin:p@ss@cam.local/stream1', 'rtsp://admin:***@cam.local/stream1'], // "@" inside the password
    ['rtsp://admin:pa/ss@cam.local/stream1', 'rtsp://admin:***@cam.local/stream1'], // unencoded "/": not a valid URL
    [
      'camera rtsp://a:b@10.0.0.2:554/s, broker mqtt://c:d@h',
      'camera rtsp://a:***@10.0.0.2:554/s, broker mqtt://c:***@h',
    ],
    ['{"url":"mqtt://u:secret@h:1883","msg":"MQTT error"}', '{"url":"mqtt://u:***@h:1883","msg":"MQTT error"}'],
    ['http://cam.local:8080/video@2x.mjpg', 'http://cam.local:8080/video@2x.mjpg'], // a port, not a password
    ['mqtt://user@broker:1883', 'mqtt://user@broker:1883'],
    ['window 3 of file /data/a.wav: street_traffic', 'window 3 of file /data/a.wav: street_traffic'],
  ];
  for (const [input, expected] of cases) assert.equal(maskSecrets(input), expected, input);
});

test('GStreamer pipelines: passwords in locations and in user-pw / proxy-pw properties are masked', () => {
  assert.equal(
    maskSecrets('rtspsrc location=rtsp://cam.local/s user-id=admin user-pw=hunter2 latency=0 ! decodebin ! appsink'),
    'rtspsrc location=rtsp://cam.local/s user-id=admin user-pw=*** latency=0 ! decodebin ! appsink',
  );
  assert.equal(
    maskSecrets('rtspsrc location=rtsp://u:hunter2@cam/s ! appsink'),
    'rtspsrc location=rtsp://u:***@cam/s ! appsink',
  );
  assert.equal(
    maskSecrets(`souphttpsrc location=http://cam/x proxy-pw="two words" ! jpegdec ! appsink`),
    'souphttpsrc location=http://cam/x proxy-pw=*** ! jpegdec ! appsink',
  );
  // The same pipeline inside a JSON log line, where the quotes are escaped.
  const line = JSON.stringify({ camera: 'souphttpsrc user-pw="two words" ! appsink' });
  assert.equal(maskSecrets(line), JSON.stringify({ camera: 'souphttpsrc user-pw=*** ! appsink' }));
});

test('a remembered secret (sensitive key, password file) is masked wherever it appears; printouts are masked deeply', () => {
  rememberSecret('correct-horse-battery');
  rememberSecret('ab'); // too short to mask by value
  assert.equal(maskSecrets('auth failed for correct-horse-battery (ab)'), 'auth failed for *** (ab)');
  assert.deepEqual(maskSecretsDeep({ a: ['mqtt://u:pw@h'], b: { c: 'x correct-horse-battery' }, n: 3 }), {
    a: ['mqtt://u:***@h'],
    b: { c: 'x ***' },
    n: 3,
  });
});

const SECRETS = [
  'mqtt-Url-S3cret',
  'rtsp-Url-S3cret',
  'gst-Pw-S3cret',
  'env-Password-S3cret',
  'watch-Url-S3cret',
  'bad-Url-S3cret',
];

/** Everything a command printed, and the secrets found in it. */
function leaked(outputs: string[]): string[] {
  const all = outputs.join('\n');
  return SECRETS.filter((secret) => all.includes(secret));
}

test('no output of the CLI shows a secret: config --print, a daemon run with debug logs, config errors, watch', async () => {
  const dir = tempDir('avscene-secrets-');
  const closed = await freePort(); // nothing listens there: the broker and the camera are unreachable, so both get logged
  const env = {
    AVSCENE_MQTT_PASSWORD: 'env-Password-S3cret',
    AVSCENE_STATE_DIR: path.join(dir, 'state'),
    AVSCENE_DEBUG: '1',
  };
  const mqttUrl = `mqtt://avscene:mqtt-Url-S3cret@127.0.0.1:${closed}`;
  const rtsp = `rtsp://admin:rtsp-Url-S3cret@127.0.0.1:${closed}/stream1`;
  const pipeline = `rtspsrc location=rtsp://127.0.0.1:${closed}/s user-id=admin user-pw=gst-Pw-S3cret ! decodebin ! videoconvert ! appsink`;
  const outputs: string[] = [];
  const record = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);

  const printed = runCli(
    ['config', '--print', ...sets(`mqtt.url=${mqttUrl}`, 'video.source=url', `video.file=${rtsp}`)],
    env,
  );
  assert.equal(printed.status, 0, printed.stderr);
  record(printed);
  const shown = JSON.parse(printed.stdout) as { mqtt: { url: string; password: string }; video: { file: string } };
  assert.equal(shown.mqtt.url, `mqtt://avscene:***@127.0.0.1:${closed}`);
  assert.equal(shown.video.file, `rtsp://admin:***@127.0.0.1:${closed}/stream1`);
  assert.notEqual(shown.mqtt.password, '', 'the password key is shown, masked');

  const gst = runCli(['config', '--print', '--set', 'video.source=url', '--set', `video.file=${pipeline}`], env);
  assert.equal(gst.status, 0, gst.stderr);
  record(gst);
  assert.match(gst.stdout, /user-pw=\*\*\*/);

  // The daemon with everything unreachable: start-up, the camera and broker warnings, the effective configuration.
  for (const format of ['json', 'pretty']) {
    const run = runCli(
      [
        'run',
        ...sets(
          `mqtt.url=${mqttUrl}`,
          'video.source=url',
          `video.file=${rtsp}`,
          'sources.realtime=false',
          'log.level=debug',
        ),
      ],
      { ...env, AVSCENE_LOG_FORMAT: format },
      90_000,
    );
    record(run);
    const text = run.stdout + run.stderr;
    assert.ok(
      text.includes(`avscene:***@127.0.0.1:${closed}`),
      `${format}: the broker URL was logged, masked:\n${text.slice(0, 3000)}`,
    );
    assert.ok(text.includes(`admin:***@127.0.0.1:${closed}`), `${format}: the camera URL was logged, masked`);
  }

  // Errors that quote a rejected value, and watch against a closed port.
  const bad = runCli(['config', '--print', '--set', 'mqtt.url=ftp://u:bad-Url-S3cret@host/x'], env);
  assert.equal(bad.status, 78);
  assert.match(bad.stderr, /mqtt\.url: is not a broker URL .*: value was "ftp:\/\/u:\*\*\*@host\/x"/);
  record(bad);
  const watch = runCli(['watch', '--url', `mqtt://u:watch-Url-S3cret@127.0.0.1:${closed}`], env, 30_000);
  assert.equal(watch.status, 1);
  record(watch);

  assert.deepEqual(leaked(outputs), [], 'secrets printed by the CLI');
});

test('a password read from mqtt.passwordFile never shows either', async () => {
  const dir = tempDir('avscene-secrets-file-');
  const passwordFile = path.join(dir, 'mqtt-password');
  writeFileSync(passwordFile, 'file-Password-S3cret\n');
  const closed = await freePort();
  const run = runCli(
    [
      'run',
      ...sets(
        `mqtt.url=mqtt://avscene@127.0.0.1:${closed}`,
        `mqtt.passwordFile=${passwordFile}`,
        'sources.realtime=false',
        'log.level=trace',
      ),
    ],
    { AVSCENE_STATE_DIR: path.join(dir, 'state') },
    90_000,
  );
  assert.ok(!(run.stdout + run.stderr).includes('file-Password-S3cret'), 'the password from the file was printed');
  assert.ok(
    (run.stdout + run.stderr).includes('mqtt-password'),
    'the run did log about the password file (the grep looked at real output)',
  );
});

test("passwords with ! ' * ~, percent-encoded ones, a URL without // and an invalid port never show", async () => {
  const dir = tempDir('avscene-secrets-special-');
  const closed = await freePort();
  const env = { AVSCENE_STATE_DIR: path.join(dir, 'state'), AVSCENE_DEBUG: '1' };
  const secrets = {
    bang: 'pa!ss-W0rd-1',
    quote: "it's-W0rd-2",
    star: 'st*r-W0rd-3',
    tilde: 'ti~lde-W0rd-4',
    noSlashes: 'nodbl-W0rd-5',
    badPort: 'badport-W0rd-6',
    watchPort: 'watchport-W0rd-7',
    encoded: 'pct%21enc-W0rd-8', // shown decoded too: pct!enc-W0rd-8
    warning: 'warn-W0rd-9',
  };
  const outputs: string[] = [];
  const record = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);

  const printed = runCli(
    [
      'config',
      '--print',
      ...sets(
        `mqtt.url=mqtt://u:${secrets.bang}@127.0.0.1:${closed}`,
        'video.source=url',
        `video.file=rtsp://a:${secrets.star}@127.0.0.1:${closed}/s`,
      ),
    ],
    env,
  );
  assert.equal(printed.status, 0, printed.stderr);
  record(printed);
  assert.match(printed.stdout, /mqtt:\/\/u:\*\*\*@127\.0\.0\.1/);

  for (const format of ['json', 'pretty']) {
    const run = runCli(
      [
        'run',
        ...sets(
          `mqtt.url=mqtt://u:${format === 'json' ? secrets.quote : secrets.encoded}@127.0.0.1:${closed}`,
          'video.source=url',
          `video.file=rtsp://a:${secrets.tilde}@127.0.0.1:${closed}/s`,
          'sources.realtime=false',
          'log.level=trace',
        ),
      ],
      { ...env, AVSCENE_LOG_FORMAT: format },
      90_000,
    );
    record(run);
    assert.match(run.stdout + run.stderr, /u:\*\*\*@127\.0\.0\.1/, `${format}: the broker URL was logged, masked`);
  }

  for (const url of [`mqtt:u:${secrets.noSlashes}@broker.local`, `mqtt://u:${secrets.badPort}@broker.local:notaport`]) {
    const r = runCli(['config', '--print', '--set', `mqtt.url=${url}`], env);
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /mqtt\.url/);
    record(r);
  }
  const watchBad = runCli(['watch', '--url', `mqtt://u:${secrets.watchPort}@127.0.0.1:99999`], env, 30_000);
  assert.equal(watchBad.status, 64, watchBad.stderr);
  record(watchBad);
  const watch = runCli(['watch', '--url', `mqtt://u:${secrets.tilde}@127.0.0.1:${closed}`], env, 30_000);
  assert.equal(watch.status, 1);
  record(watch);

  // Node's own warnings (DEP0170 quotes a URL with an invalid port whole) go through the masking.
  // (On beforeExit: the CLI's modules have loaded and its handlers are in place, as for a warning from mqtt.js.)
  const emit = `process.once("beforeExit", () => process.emitWarning("The URL mqtt://u:${secrets.warning}@h:x is invalid", "DeprecationWarning", "DEP0170"))`;
  const warned = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(emit)}`,
      CLI,
      'watch',
      '--url',
      `mqtt://127.0.0.1:${closed}`,
    ],
    { cwd: REPO_ROOT, env: { ...cliEnv(), ...env }, encoding: 'utf8', timeout: 30_000 },
  );
  assert.match(warned.stderr, /\[DEP0170\] DeprecationWarning: The URL mqtt:\/\/u:\*\*\*@h:x is invalid/);
  record(warned);

  const all = outputs.join('\n');
  const leaked = [...Object.values(secrets), 'pct!enc-W0rd-8'].filter((secret) => all.includes(secret));
  assert.deepEqual(leaked, [], 'passwords printed by the CLI');
});
