/**
 * A bundle trained on audio recorded at another rate than the audio source gives: the WAV header's rate (or ALSA's
 * 48 kHz) against bundle.json's trainedSampleRate; model.sampleRateMismatch warns or refuses (BundleError, exit 78),
 * at start-up (daemon.test-style, through the CLI) and for a hot swap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BundleError, checkSampleRate, loadBundle, sampleRateMismatch } from '../../src/inference/index.js';
import { captureSampleRate } from '../../src/capture/index.js';
import { BundleSwapper } from '../../src/daemon/bundle-swap.js';
import { demoVersion } from '../helpers/bundles.js';
import { tempDir } from '../helpers/media.js';
import { freePort } from '../helpers/mosquitto.js';
import { runCli, sets, startCli } from '../helpers/cli.js';
import { SHARED_DATA, HAS_SHARED_DATA, NO_SHARED_DATA } from '../helpers/paths.js';

const CLIP = path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio', 'airport-helsinki-3-117.wav');

/** A copy of the demo bundle whose manifest says it was trained on `rate` Hz audio. */
function trainedAt(dir: string, rate: number): string {
  const bundle = demoVersion(dir, `9.${rate}.0`);
  const file = path.join(bundle, 'bundle.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), trainedSampleRate: rate }));
  return bundle;
}

test('the capture rate: a WAV says it in its fmt chunk (after other chunks too), ALSA is asked for 48 kHz', {
  skip: HAS_SHARED_DATA ? false : NO_SHARED_DATA,
}, () => {
  const dir = tempDir('avscene-rate-');
  const wav16 = path.join(dir, 'a.wav');
  execFileSync('sox', [CLIP, '-r', '16000', wav16, 'trim', '0', '1']);
  assert.equal(captureSampleRate({ source: 'file', file: wav16 }), 16000);
  assert.equal(captureSampleRate({ source: 'file', file: CLIP }), 48000);
  const withList = path.join(dir, 'b.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-i', wav16, '-metadata', 'title=x', '-ar', '22050', withList]);
  assert.equal(captureSampleRate({ source: 'file', file: withList }), 22050);
  assert.equal(captureSampleRate({ source: 'alsa', file: '' }), 48000);
  assert.equal(captureSampleRate({ source: 'file', file: path.join(dir, 'none.wav') }), null);
});

test('a mismatch warns, or refuses with BundleError naming both rates and the key', async () => {
  const dir = tempDir('avscene-rate-');
  const bundle = await loadBundle(trainedAt(dir, 16000));
  assert.equal(sampleRateMismatch(bundle, 16000), null);
  assert.match(sampleRateMismatch(bundle, 48000)!, /trained on audio recorded at 16 kHz.*gives 48 kHz.*8 kHz–24 kHz/);
  const warned: string[] = [];
  checkSampleRate(bundle, 48000, 'warn', { warn: (_o: unknown, msg: string) => warned.push(msg) } as never);
  assert.match(warned[0]!, /model\.sampleRateMismatch=refuse/);
  assert.throws(
    () => checkSampleRate(bundle, 48000, 'refuse', { warn: () => assert.fail('no warning when refusing') } as never),
    (err: unknown) => err instanceof BundleError && err.exitCode === 78 && /sampleRateMismatch=warn/.test(err.message),
  );
  const unknown = await loadBundle(demoVersion(dir, '9.0.1')); // a bundle without trainedSampleRate: nothing to say
  assert.equal(sampleRateMismatch(unknown, 16000), null);
});

test('the daemon: refuses to start on a 48 kHz capture with a 16 kHz-trained bundle when told to, warns otherwise', {
  skip: HAS_SHARED_DATA ? false : NO_SHARED_DATA,
}, async () => {
  const dir = tempDir('avscene-rate-');
  const bundle = trainedAt(dir, 16000);
  const port = await freePort(); // nothing listens there: the daemon never gets as far as publishing
  const args = ['run', ...sets(`model.bundle=${bundle}`, `audio.file=${CLIP}`, `mqtt.url=mqtt://127.0.0.1:${port}`)];
  const refused = runCli([...args, ...sets('model.sampleRateMismatch=refuse')]);
  assert.equal(refused.status, 78, refused.stderr + refused.stdout);
  assert.match(refused.stderr + refused.stdout, /trained on audio recorded at 16 kHz, the audio source gives 48 kHz/);
  const daemon = startCli(args);
  try {
    const line = await daemon.untilLog((l) => l.captureSampleRate === 48000, 60_000, 'the sample-rate warning');
    assert.equal(line.trainedSampleRate, 16000);
    assert.equal(line.level, 40);
  } finally {
    daemon.child.kill('SIGKILL');
    await daemon.exited;
  }
});

test('a hot swap to a bundle trained at another rate is refused when told to, and the running bundle stays', async () => {
  const dir = tempDir('avscene-rate-');
  const running = await loadBundle(demoVersion(dir, '9.0.2'));
  const failures: Error[] = [];
  const swapper = new BundleSwapper(
    {
      bundle: trainedAt(dir, 16000),
      publicKey: '',
      engine: { providers: 'cpu', threads: 1 } as never,
      captureRate: 48000,
      sampleRateMismatch: 'refuse',
    },
    () => running,
    { info: () => {}, warn: () => {} } as never,
    (_request, err) => err && failures.push(err),
  );
  swapper.request(1);
  await swapper.settled();
  assert.equal(swapper.take(), null);
  assert.ok(failures[0] instanceof BundleError, String(failures[0]));
  assert.match(failures[0].message, /trained on audio recorded at 16 kHz/);
});
