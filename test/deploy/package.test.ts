/**
 * `make package` (deploy/package.sh): the .deb is inspected with dpkg-deb (metadata, unit, conffile, maintainer
 * scripts, the compiled OpenCV binding and onnxruntime inside, no development or foreign-platform files), unpacked
 * into a temporary directory, and the CLI in it classifies a real recording with a real video from there: the app
 * finds its bundle, clip and native modules relative to itself.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, HAS_SHARED_DATA, SHARED_DATA } from '../helpers/paths.js';
import { makeVideo, tempDir } from '../helpers/media.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ARCH = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const NODE_ARCH = process.arch;

let deb = '';
let unpacked = '';
before(() => {
  const out = tempDir('avscene-deb-');
  const t0 = Date.now();
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'deploy', 'package.sh'), '--out', out], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  deb = r.stdout.trim().split('\n').at(-1)!;
  console.log(
    `# built ${path.basename(deb)}: ${(statSync(deb).size / 2 ** 20).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  unpacked = path.join(out, 'root');
  execFileSync('dpkg-deb', ['-x', deb, unpacked]);
});

const dpkgDeb = (...args: string[]) =>
  execFileSync('dpkg-deb', [...args, deb], { encoding: 'utf8', maxBuffer: 64 << 20 });

test('the package is avscene_<version>_<arch>.deb with the metadata apt needs', () => {
  assert.equal(path.basename(deb), `avscene_${VERSION}_${ARCH}.deb`);
  const field = (name: string) => dpkgDeb('-f').match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1];
  assert.equal(field('Package'), 'avscene');
  assert.equal(field('Version'), VERSION);
  assert.equal(field('Architecture'), ARCH);
  const depends = field('Depends') ?? '';
  const major = Number(process.versions.node.split('.')[0]);
  assert.ok(
    depends.includes(`nodejs (>= ${major})`) && depends.includes(`nodejs (<< ${major + 1})`),
    `Node.js of the binding's ABI: ${depends}`,
  );
  assert.match(depends, /libopencv-core[0-9a-z.]* \(>= /, 'the OpenCV the binding links');
  assert.match(depends, /libopencv-videoio/);
  assert.match(depends, /alsa-utils/);
});

test('unit, conffile, maintainer scripts and the native modules are inside; development files are not', () => {
  const files = dpkgDeb('-c')
    .split('\n')
    .map((line) =>
      line
        .split(/\s+/)
        .slice(5)
        .join(' ')
        .replace(/^\.\//, '/')
        .replace(/ -> .*$/, ''),
    );
  const has = (f: string) => files.includes(f);
  for (const f of [
    '/lib/systemd/system/avscene.service',
    '/etc/avscene/config.json',
    '/usr/bin/avscene',
    '/opt/avscene/dist/cli/main.js',
    '/opt/avscene/node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node',
    `/opt/avscene/node_modules/onnxruntime-node/bin/napi-v6/linux/${NODE_ARCH}/onnxruntime_binding.node`,
    '/opt/avscene/models/bundles/demo-audio/bundle.json',
    '/opt/avscene/deploy/demo/acoustic_scene.wav',
    '/opt/avscene/deploy/configure-service.sh',
  ])
    assert.ok(has(f), `${f} is in the package`);
  // (@types/node stays: mqtt lists type packages among its runtime dependencies.)
  const unwanted = files.filter((f) =>
    /node_modules\/(typescript|tsx|@esbuild|esbuild)\/|\/models\/work\/|napi-v6\/(darwin|win32)\/|obj\.target/.test(f),
  );
  assert.deepEqual(unwanted.slice(0, 5), [], 'no development packages, training data or foreign binaries');

  assert.equal(controlFile('conffiles').trim(), '/etc/avscene/config.json');
  const postinst = controlFile('postinst');
  assert.match(postinst, /configure-service\.sh/);
  assert.match(postinst, /try-restart/, 'an upgrade restarts the running service');
  assert.match(controlFile('postrm'), /purge[\s\S]*rm -rf \/etc\/avscene \/var\/lib\/avscene/);
  for (const script of ['postinst', 'prerm', 'postrm']) execFileSync('sh', ['-n', '-c', controlFile(script)]);
  const configure = readFileSync(path.join(unpacked, 'opt/avscene/deploy/configure-service.sh'), 'utf8');
  assert.match(configure, /useradd --system .* avscene/);
  assert.match(configure, /usermod -aG audio,video avscene/);
  assert.match(configure, /install -d -o avscene -g avscene -m 755 "\$state"/);
  const unit = readFileSync(path.join(unpacked, 'lib/systemd/system/avscene.service'), 'utf8');
  assert.equal(
    unit,
    readFileSync(path.join(REPO_ROOT, 'systemd/avscene.service'), 'utf8'),
    'the same unit as a clone install',
  );
  assert.match(unit, /ExecReload=\/bin\/kill -HUP \$MAINPID/);
  assert.equal(readlinkSync(path.join(unpacked, 'usr/bin/avscene')), '../../opt/avscene/dist/cli/main.js');
});

function controlFile(name: string): string {
  return execFileSync('sh', ['-c', `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./${name}`, 'sh', deb], {
    encoding: 'utf8',
  });
}

test('unpacked anywhere, its CLI classifies a real recording with a video (OpenCV and onnxruntime from the package)', () => {
  const work = tempDir('avscene-deb-run-');
  const wav = path.join(work, 'clip.wav');
  copyFileSync(
    HAS_SHARED_DATA
      ? path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio', 'park-lyon-1144-44031.wav')
      : path.join(REPO_ROOT, 'deploy/demo/acoustic_scene.wav'),
    wav,
  );
  const video = makeVideo(path.join(work, 'clip.mp4'), 10);
  const cli = path.join(unpacked, 'usr/bin/avscene');
  // From an unrelated directory, with nothing of the checkout on any path.
  const env = { PATH: process.env.PATH, HOME: work, AVSCENE_LOG_FORMAT: 'json' };
  const r = spawnSync(cli, ['classify', wav, '--video', video, '--json'], {
    cwd: work,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { seq?: number; label?: string; model?: { name: string }; summary?: { label: string } },
    );
  const windows = lines.filter((l) => l.seq !== undefined);
  assert.equal(windows.length, 10);
  assert.equal(windows[0]!.model!.name, 'demo-audio');
  assert.ok(lines.at(-1)!.summary?.label, 'a summary for the clip');

  const printed = JSON.parse(execFileSync(cli, ['config', '--print'], { cwd: work, env, encoding: 'utf8' })) as {
    model: { bundle: string };
    audio: { file: string };
  };
  assert.equal(
    printed.model.bundle,
    path.join(unpacked, 'opt/avscene/models/bundles/demo-audio'),
    'defaults point into the unpacked tree',
  );
  assert.ok(existsSync(printed.audio.file));
  execFileSync(
    cli,
    ['config', '--print', '--allow-missing-bundle', '--config', path.join(unpacked, 'etc/avscene/config.json')],
    { cwd: work, env },
  );
});
