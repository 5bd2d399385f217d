/**
 * Fleet rollout through Mender, end to end: Debian's mender-client in standalone mode, under a real systemd (one
 * sandbox for every check), with the .deb installed and the avscene service labelling a looping file
 * and publishing to a mosquitto inside. Artifacts come from `make mender-artifact`'s script with Debian's
 * mender-artifact; the bundles are real (copies of the demo bundle under other versions, one with its classes
 * reordered, which the running daemon refuses).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtDeb } from '../helpers/deb.js';
import { demoVersion } from '../helpers/bundles.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { sandboxUnavailable, withSandbox, type Sandbox } from '../helpers/systemd-sandbox.js';
import { poll } from '../helpers/wait.js';

const DEVICE_TYPE = 'avscene-test-board';
const unavailable = sandboxUnavailable();

interface Window {
  seq: number;
  model: { name: string; version: string };
}

let share = '';
const artifacts: Record<string, string> = {};

/** `make mender-artifact BUNDLE=… DEVICE_TYPE=…` (its script), into the sandbox's share. */
function artifact(bundle: string, deviceType = DEVICE_TYPE, out = share): string {
  return execFileSync(
    'bash',
    [path.join(REPO_ROOT, 'deploy/mender/make-artifact.sh'), bundle, deviceType, '--out', out],
    {
      encoding: 'utf8',
    },
  ).trim();
}

before(() => {
  if (unavailable) return;
  share = tempDir('avscene-mender-');
  const src = tempDir('avscene-mender-src-');
  artifacts.good = artifact(demoVersion(src, '9.1.0'));
  artifacts.later = artifact(demoVersion(src, '9.3.0'));
  const reordered = demoVersion(src, '9.2.0');
  const manifestFile = path.join(reordered, 'bundle.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { classes: string[] };
  [manifest.classes[0], manifest.classes[1]] = [manifest.classes[1]!, manifest.classes[0]!];
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  artifacts.refused = artifact(reordered);
  const otherBoard = tempDir('avscene-mender-other-');
  artifacts.otherBoard = artifact(demoVersion(src, '9.4.0'), 'some-other-board', otherBoard);
  execFileSync('cp', [artifacts.otherBoard, path.join(share, 'other-board.mender')]);
  artifacts.otherBoard = path.join(share, 'other-board.mender');
});

test('make mender-artifact writes an avscene-bundle artifact that provides the bundle version', {
  skip: unavailable ?? false,
}, () => {
  assert.equal(path.basename(artifacts.good!), 'demo-audio-9.1.0.mender');
  const info = execFileSync('mender-artifact', ['read', artifacts.good!], { encoding: 'utf8' });
  assert.match(info, /Name: avscene-bundle-demo-audio-9\.1\.0/);
  assert.match(info, new RegExp(`Compatible devices: '\\[${DEVICE_TYPE}\\]'`));
  assert.match(info, /Type: +avscene-bundle/);
  assert.match(info, /avscene-bundle\.version: 9\.1\.0/);
  assert.match(info, /avscene-bundle\.name: demo-audio/);
  assert.match(info, /Clears Provides: \[?"?avscene-bundle\.\*/);
  assert.match(info, /demo-audio-9\.1\.0\.tar\.gz/);
});

/**
 * A copy of the package under another version (control and the app's package.json), uncompressed (fast to build and
 * to install); `broken` makes its CLI exit 78 at once, as a version refusing its configuration at start does.
 */
function variantDeb(deb: string, version: string, broken = false): string {
  const work = tempDir('avscene-deb-variant-');
  const root = path.join(work, 'root');
  execFileSync('dpkg-deb', ['-R', deb, root]);
  const control = path.join(root, 'DEBIAN/control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${version}`));
  const pkg = path.join(root, 'opt/avscene/package.json');
  writeFileSync(pkg, readFileSync(pkg, 'utf8').replace(/"version": "[^"]*"/, `"version": "${version}"`));
  if (broken)
    writeFileSync(
      path.join(root, 'opt/avscene/dist/cli/main.js'),
      "#!/usr/bin/env node\nconsole.error('avscene: this build refuses to start (test)');\nprocess.exit(78);\n",
    );
  const out = path.join(work, `avscene_${version}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', root, out], { stdio: 'ignore' });
  return out;
}

/** An artifact for the avscene-deb module holding `deb`, into the share. */
function debArtifact(deb: string, version: string): string {
  const out = path.join(share, `avscene-${version}.mender`);
  execFileSync('mender-artifact', [
    'write',
    'module-image',
    '-T',
    'avscene-deb',
    '-n',
    `avscene-${version}`,
    '-t',
    DEVICE_TYPE,
    '-f',
    deb,
    '-o',
    out,
  ]);
  return out;
}

/** Mender standalone, as the issue measured it: mender.conf `{}`, the state folder, device_type and artifact_info. */
const MENDER_SETUP = `
mkdir -p "$1/data/mender" "$1/etc/mender"
echo '{}' > "$1/etc/mender/mender.conf"
echo 'device_type=${DEVICE_TYPE}' > "$1/data/mender/device_type"
echo 'artifact_name=factory-image' > "$1/etc/mender/artifact_info"
`;

/**
 * The package installed on the running system (as on a provisioned device; also keeps the sandbox's boot short), then
 * the service's configuration: the demo clip in a loop, in real time, to the broker inside.
 */
const INSTALL_AND_CONFIGURE = (deb: string) => `
dpkg -i /srv/share/${path.basename(deb)}
cat > /etc/avscene/config.json <<'JSON'
{
  "device": { "id": "sbx" },
  "audio": { "source": "file", "file": "/opt/avscene/deploy/demo/acoustic_scene.wav", "loop": true },
  "sources": { "realtime": true },
  "video": { "source": "none" },
  "model": { "bundle": "/var/lib/avscene/bundles/current", "publicKey": "" },
  "mqtt": { "url": "mqtt://127.0.0.1:1883" },
  "log": { "level": "info" }
}
JSON
`;

const mender = (sbx: Sandbox, args: string) => sbx.exec(`mender --no-syslog ${args} 2>&1`, { timeoutMs: 300_000 });

async function windows(sbx: Sandbox): Promise<Window[]> {
  const out = await sbx.sh('cat /root/windows.log 2>/dev/null || true');
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Window);
}

async function windowsUntil(sbx: Sandbox, done: (w: Window[]) => boolean, what: string): Promise<Window[]> {
  return poll(() => windows(sbx), done, 120_000, what, {
    everyMs: 250,
    explain: (w) => `last windows: ${JSON.stringify(w.slice(-3))}`,
  });
}

test('mender install/commit/rollback of bundle artifacts against the running service; refusals keep the running bundle', {
  skip: unavailable ?? false,
  timeout: 900_000,
}, async () => {
  const deb = builtDeb();
  artifacts.debNew = debArtifact(variantDeb(deb, '0.9.1'), '0.9.1');
  artifacts.debBroken = debArtifact(variantDeb(deb, '0.9.2', true), '0.9.2');
  copyFileSync(deb, path.join(share, path.basename(deb)));
  await withSandbox({ share, setup: MENDER_SETUP }, async (sbx) => {
    await sbx.sh(INSTALL_AND_CONFIGURE(deb), { timeoutMs: 300_000 });
    const inside = (file: string) => `/srv/share/${path.basename(file)}`;
    await sbx.sh('systemd-run --unit=broker /usr/sbin/mosquitto -p 1883');
    await sbx.sh(
      'for i in $(seq 100); do mosquitto_sub -h 127.0.0.1 -t x -W 1 -E 2>/dev/null && break; sleep 0.1; done',
    );
    await sbx.sh(
      'systemd-run --unit=windows -p StandardOutput=file:/root/windows.log mosquitto_sub -h 127.0.0.1 -t avscene/sbx/window',
    );
    await sbx.sh('systemctl start avscene', { timeoutMs: 180_000 }); // Type=notify: returns once the first window is labelled
    await windowsUntil(sbx, (w) => w.length >= 2, 'the first windows of the demo bundle');
    assert.match(await sbx.sh('ls /usr/share/mender/modules/v3/'), /avscene-bundle/);

    // A good bundle: install returns once the daemon labels with it; the next windows carry the new version.
    const t0 = Date.now();
    const installed = await mender(sbx, `install ${inside(artifacts.good!)}`);
    const installMs = Date.now() - t0;
    assert.equal(installed.status, 0, installed.stdout);
    const atReturn = (await windows(sbx)).length;
    const after = await windowsUntil(sbx, (w) => w.length >= atReturn + 2, 'two windows after mender install');
    // At most one window labelled before the swap may still be on its way through the broker.
    assert.equal(after.at(-1)!.model.version, '9.1.0');
    assert.ok(
      after.slice(atReturn + 1).every((w) => w.model.version === '9.1.0'),
      JSON.stringify(after.slice(atReturn)),
    );
    const firstNew = after.findIndex((w) => w.model.version === '9.1.0');
    console.log(
      `# mender install → daemon on 9.1.0: ${installMs} ms (first 9.1.0 window: seq ${after[firstNew]!.seq})`,
    );
    const committed = await mender(sbx, 'commit');
    assert.equal(committed.status, 0, committed.stdout);
    assert.equal((await sbx.sh('mender --no-syslog show-artifact')).trim(), 'avscene-bundle-demo-audio-9.1.0');

    // Inventory: the running bundle's version, as the Mender UI groups devices by.
    const inventory = await sbx.sh('/usr/share/mender/inventory/mender-inventory-avscene');
    assert.match(inventory, /^avscene_bundle_version=9\.1\.0$/m);
    assert.match(inventory, /^avscene_bundle_name=demo-audio$/m);
    assert.match(inventory, /^avscene_bundle_sha256=[0-9a-f]{64}$/m);
    assert.match(inventory, /^avscene_device_id=sbx$/m);
    assert.match(inventory, /^avscene_running=yes$/m);
    assert.match(inventory, /^avscene_label_age_s=\d+(\.\d)?$/m);
    assert.match(inventory, /^avscene_version=\d+\.\d+\.\d+/m);

    // A bundle the daemon refuses (classes reordered): mender install fails, Mender keeps the committed artifact, the
    // running bundle keeps labelling.
    const refused = await mender(sbx, `install ${inside(artifacts.refused!)}`);
    assert.notEqual(refused.status, 0, refused.stdout);
    assert.match(refused.stdout, /refused the bundle and keeps labelling with demo-audio 9\.1\.0: .*classes/);
    assert.equal((await sbx.sh('mender --no-syslog show-artifact')).trim(), 'avscene-bundle-demo-audio-9.1.0');
    assert.match(await sbx.sh('avscene bundle status'), /current +demo-audio-9\.1\.0:/);
    const afterRefusal = (await windows(sbx)).length;
    await windowsUntil(sbx, (w) => w.length >= afterRefusal + 2, 'labelling goes on after the refusal');

    // An artifact for another device type never reaches the module.
    const otherBoard = await mender(sbx, `install ${inside(artifacts.otherBoard!)}`);
    assert.notEqual(otherBoard.status, 0, otherBoard.stdout);
    assert.match(otherBoard.stdout, /some-other-board|device type/i);
    assert.equal((await sbx.sh('mender --no-syslog show-artifact')).trim(), 'avscene-bundle-demo-audio-9.1.0');

    // Installed, then rolled back before commit: ArtifactRollback puts the previous bundle back in the daemon.
    const later = await mender(sbx, `install ${inside(artifacts.later!)}`);
    assert.equal(later.status, 0, later.stdout);
    const rolledBack = await mender(sbx, 'rollback');
    assert.equal(rolledBack.status, 0, rolledBack.stdout);
    assert.equal((await sbx.sh('mender --no-syslog show-artifact')).trim(), 'avscene-bundle-demo-audio-9.1.0');
    assert.match(await sbx.sh('avscene bundle status'), /running +pid \d+: demo-audio 9\.1\.0/);

    // Every window in order, without a seq gap, across the swap, the refusals and the rollback.
    const all = await windowsUntil(sbx, (w) => w.at(-1)?.model.version === '9.1.0', 'windows of 9.1.0 again');
    all.forEach((w, i) => assert.equal(w.seq, all[0]!.seq + i, `seq ${w.seq} follows without a gap`));
    assert.ok(!all.some((w) => w.model.version === '9.2.0'), 'the refused bundle never labelled');

    // With the service stopped, the module installs on the test window alone; the next start labels with it.
    await sbx.sh('systemctl stop avscene');
    const stopped = await mender(sbx, `install ${inside(artifacts.later!)}`);
    assert.equal(stopped.status, 0, stopped.stdout);
    assert.equal((await mender(sbx, 'commit')).status, 0);
    assert.match(await sbx.sh('avscene bundle status'), /current +demo-audio-9\.3\.0:[\s\S]*no daemon runs/);

    // avscene itself: a new version through the avscene-deb module restarts the service and reports itself; a
    // version that does not start is rolled back to the .deb kept at the last commit.
    await sbx.sh('systemctl start avscene', { timeoutMs: 180_000 });
    const upgraded = await mender(sbx, `install ${inside(artifacts.debNew!)}`);
    assert.equal(upgraded.status, 0, upgraded.stdout);
    assert.equal((await sbx.sh('avscene --version')).trim(), '0.9.1');
    assert.equal((await sbx.sh('systemctl is-active avscene')).trim(), 'active');
    // The retained info of the stopped 0.1.0 daemon stays on the broker until the new one has connected.
    const reportedSoftware = async () =>
      (JSON.parse(await sbx.sh('mosquitto_sub -h 127.0.0.1 -t avscene/sbx/info -C 1 -W 10')) as { software: string })
        .software;
    await poll(reportedSoftware, (v) => v === '0.9.1', 60_000, 'the restarted daemon reports 0.9.1 on …/info', {
      everyMs: 250,
      explain: (v) => `info says ${v}`,
    });
    assert.equal((await mender(sbx, 'commit')).status, 0);
    const broken = await mender(sbx, `install ${inside(artifacts.debBroken!)}`);
    assert.notEqual(broken.status, 0, broken.stdout);
    assert.match(broken.stdout, /avscene 0\.9\.2 did not start/);
    assert.equal((await sbx.sh('dpkg-query -W avscene')).trim(), 'avscene\t0.9.1');
    assert.equal((await sbx.sh('systemctl is-active avscene')).trim(), 'active', broken.stdout);
    assert.equal((await sbx.sh('mender --no-syslog show-artifact')).trim(), 'avscene-0.9.1');
  });
});
