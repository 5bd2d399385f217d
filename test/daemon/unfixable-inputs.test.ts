/**
 * Inputs that a restart cannot mend end start-up with exit 78 (the unit's RestartPreventExitStatus) and are found
 * before the broker is contacted, so a device in a restart loop would not make its retained status flap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import path from 'node:path';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, runCli } from '../helpers/cli.js';
import { mosquittoForThisFile } from '../helpers/file-broker.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DEMO_BUNDLE = path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio');

const broker = mosquittoForThisFile();

/** Runs the daemon to its end; asserts exit 78, and that it published nothing on its topics (it never connected). */
async function expectUnfixable(device: string, settings: string[], mentions: RegExp): Promise<void> {
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  const r = runCli(daemonArgs(broker.url, device, ...settings), {}, 60_000);
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, mentions);
  // A marker sent after the daemon ended arrives after anything the daemon could have published.
  const marker = await mqtt.connectAsync(broker.url);
  await marker.publishAsync(`avscene/${device}/marker`, 'end', { qos: 1 });
  await marker.endAsync();
  await sub.until((m) => m.some((x) => x.topic.endsWith('/marker')), 10_000, 'the marker');
  assert.deepEqual(
    sub.messages.map((m) => m.topic),
    [`avscene/${device}/marker`],
    'nothing from the daemon (no online/offline)',
  );
}

test('a WAV file that cannot be decoded: exit 78 before the broker is contacted', async () => {
  const bad = path.join(tempDir(), 'notes.wav');
  writeFileSync(bad, 'these are notes, not audio\n');
  await expectUnfixable('bad-wav', [`audio.file=${bad}`], /audio\.file: .*notes\.wav: not a WAV file/);
});

test('an ONNX file ONNX Runtime cannot parse although its checksum matches: exit 78, naming the file and the fix', async () => {
  const dir = tempDir();
  for (const f of readdirSync(DEMO_BUNDLE)) copyFileSync(path.join(DEMO_BUNDLE, f), path.join(dir, f));
  const manifestPath = path.join(dir, 'bundle.json');
  const manifest = readFileSync(manifestPath, 'utf8');
  const head = readdirSync(dir).find((f) => f.startsWith('head-') && f.endsWith('.onnx'))!;
  const garbage = Buffer.from('not a protobuf at all '.repeat(40));
  const oldSha = createHash('sha256')
    .update(readFileSync(path.join(dir, head)))
    .digest('hex');
  writeFileSync(path.join(dir, head), garbage);
  writeFileSync(manifestPath, manifest.replace(oldSha, createHash('sha256').update(garbage).digest('hex')));
  await expectUnfixable(
    'bad-onnx',
    [`model.bundle=${dir}`],
    new RegExp(`${head}: ONNX Runtime cannot load it .*Export the bundle again`),
  );
});
