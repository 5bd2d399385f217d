/**
 * Signed bundles: the toolkit signs (python3 -m avscene_models sign), the daemon verifies with node:crypto against
 * model.publicKey; anything unsigned, re-signed with another key or changed after signing is refused with the fix.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BundleError, loadBundle } from '../../src/inference/index.js';
import { demoVersion, keyPair, signBundle } from '../helpers/bundles.js';
import { tempDir } from '../helpers/media.js';
import { runCli } from '../helpers/cli.js';

let dir = '';
let release: { key: string; pub: string };
let other: { key: string; pub: string };
before(() => {
  dir = tempDir('avscene-sig-');
  release = keyPair(dir, 'release');
  other = keyPair(dir, 'other');
});

async function refused(bundle: string, pub: string, file: string, message: RegExp): Promise<void> {
  await assert.rejects(loadBundle(bundle, { publicKey: pub }), (err: unknown) => {
    assert.ok(err instanceof BundleError, String(err));
    assert.equal(path.basename(err.file), file);
    assert.match(err.message, message);
    assert.equal(err.exitCode, 78);
    return true;
  });
}

test('a bundle signed by the toolkit verifies against its public key', async () => {
  const bundle = demoVersion(dir, '1.0.0-signed');
  signBundle(bundle, release.key);
  const loaded = await loadBundle(bundle, { publicKey: release.pub });
  assert.equal(loaded.signed, true);
  assert.equal(
    loaded.sha256,
    execFileSync('sha256sum', [path.join(bundle, 'bundle.json')], { encoding: 'utf8' }).split(' ')[0],
  );
  // Without a key configured, signatures are not required (and not claimed).
  assert.equal((await loadBundle(bundle)).signed, false);
});

test('unsigned, wrongly signed and changed-after-signing bundles are refused', async () => {
  const unsigned = demoVersion(dir, '1.0.0-unsigned');
  await refused(
    unsigned,
    release.pub,
    'bundle.sig',
    /is missing: model\.publicKey is set.*python3 -m avscene_models sign/,
  );

  const wrong = demoVersion(dir, '1.0.0-wrong');
  signBundle(wrong, other.key);
  await refused(wrong, release.pub, 'bundle.sig', /does not verify against .*release\.pub.*signed with another key/);

  const changed = demoVersion(dir, '1.0.0-changed');
  signBundle(changed, release.key);
  const manifest = path.join(changed, 'bundle.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"version": "1.0.0-changed"', '"version": "1.0.1"'));
  await refused(changed, release.pub, 'bundle.sig', /does not verify/);

  const truncated = demoVersion(dir, '1.0.0-truncated');
  signBundle(truncated, release.key);
  writeFileSync(path.join(truncated, 'bundle.sig'), readFileSync(path.join(truncated, 'bundle.sig')).subarray(0, 10));
  await refused(truncated, release.pub, 'bundle.sig', /is 10 bytes, an Ed25519 signature is 64/);
});

test('a signed bundle with a corrupt ONNX file is still refused by its SHA-256', async () => {
  const bundle = demoVersion(dir, '1.0.0-corrupt');
  signBundle(bundle, release.key);
  const onnx = path.join(bundle, 'head-logmel-audio.onnx');
  const bytes = readFileSync(onnx);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(onnx, bytes);
  await refused(bundle, release.pub, 'head-logmel-audio.onnx', /SHA-256 is/);
});

test('model.publicKey must be an Ed25519 public key: a private key or an RSA key is refused with the command to make one', async () => {
  const bundle = demoVersion(dir, '1.0.0-keys');
  signBundle(bundle, release.key);
  await refused(bundle, release.key, 'release.key', /is a private key: give the daemon only the public half/);
  const rsa = path.join(dir, 'rsa.pub');
  execFileSync('sh', [
    '-c',
    `openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 2>/dev/null | openssl pkey -pubout -out ${rsa}`,
  ]);
  await refused(bundle, rsa, 'rsa.pub', /is a rsa key, bundles are signed with Ed25519.*keygen/);
  rmSync(rsa);
});

test('avscene run exits 78 at start when the bundle is not signed with model.publicKey', () => {
  const unsigned = demoVersion(dir, '1.0.0-run');
  const r = runCli([
    'run',
    '--set',
    `model.bundle=${unsigned}`,
    '--set',
    `model.publicKey=${release.pub}`,
    '--set',
    'mqtt.url=mqtt://127.0.0.1:9',
  ]);
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /bundle\.sig: is missing: model\.publicKey is set/);
});
