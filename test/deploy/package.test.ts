/**
 * `make package` (deploy/package.sh): the .deb is inspected with dpkg-deb (metadata, unit, conffile, maintainer
 * scripts, the compiled OpenCV binding and onnxruntime inside, no development or foreign-platform files), unpacked
 * into a temporary directory, and the CLI in it classifies a real recording with a real video from there: the app
 * finds its bundle, clip and native modules relative to itself.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, HAS_SHARED_DATA, SHARED_DATA } from '../helpers/paths.js';
import { makeVideo, tempDir } from '../helpers/media.js';
import { builtDeb } from '../helpers/deb.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ARCH = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const NODE_ARCH = process.arch;

let deb = '';
let unpacked = '';
before(() => {
  deb = builtDeb(); // shared with the systemd sandbox tests: built once per tree
  unpacked = path.join(tempDir('avscene-deb-'), 'root');
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
  assert.match(unit, /^ExecReload=.* reload --pid \$MAINPID --wait --timeout \d+$/m);
  assert.equal(readlinkSync(path.join(unpacked, 'usr/bin/avscene')), '/opt/avscene/dist/cli/main.js');
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
  const cli = path.join(unpacked, 'opt/avscene/dist/cli/main.js'); // usr/bin/avscene points at the installed one
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

test('lintian finds no error (the overrides shipped in the package say why each one is accepted)', () => {
  const r = spawnSync('lintian', ['--tag-display-limit', '0', deb], { encoding: 'utf8', timeout: 600_000 });
  if (r.error)
    throw new Error(`lintian not found (apt-get install lintian; make setup-test does it): ${r.error.message}`);
  const out = `${r.stdout}${r.stderr}`;
  const errors = out.split('\n').filter((l) => l.startsWith('E: '));
  assert.deepEqual(errors, [], out);
  const warnings = out.split('\n').filter((l) => l.startsWith('W: '));
  console.log(
    `# lintian: 0 errors, ${warnings.length} warnings${warnings.length ? `:\n# ${warnings.join('\n# ')}` : ''}`,
  );
  const overrides = readFileSync(path.join(unpacked, 'usr/share/lintian/overrides/avscene'), 'utf8');
  // Each override (or group of them) comes right after the comment that gives the reason.
  let reason = false;
  for (const line of overrides.split('\n')) {
    if (line.startsWith('#')) reason = true;
    else if (line.trim() === '') reason = false;
    else assert.ok(reason && /^avscene: /.test(line), `an override with its reason above: ${line}`);
  }
});

test('the package carries licences, a changelog and a real maintainer; no build tooling, docs, tests or maps', () => {
  const field = (name: string) => dpkgDeb('-f').match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1] ?? '';
  assert.match(field('Maintainer'), /^avscene developers <[^@\s]+@avscene\.dev>$/);
  assert.match(field('Depends'), /init-system-helpers/);
  const doc = path.join(unpacked, 'usr/share/doc/avscene');
  const changelog = execFileSync('zcat', [path.join(doc, 'changelog.gz')], { encoding: 'utf8' });
  assert.match(changelog, new RegExp(`^avscene \\(${VERSION.replace(/\./g, '\\.')}\\) `));
  const copyright = readFileSync(path.join(doc, 'copyright'), 'utf8');
  assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\//);
  assert.match(copyright, /Copyright: Microsoft Corporation\nLicense: MIT/, 'ONNX Runtime');
  assert.match(copyright, /Files: opt\/avscene\/deploy\/demo\/\*\nCopyright: 2017 Detection and Classification/);
  // Every module that ships is listed, with a licence that has its own paragraph.
  const modules = path.join(unpacked, 'opt/avscene/node_modules');
  const shipped = readdirSync(modules).flatMap((name) =>
    name.startsWith('@') ? readdirSync(path.join(modules, name)).map((n) => `${name}/${n}`) : [name],
  );
  const listed = new Set([...copyright.matchAll(/^Files: (.+)$/gm)].flatMap((m) => m[1]!.split(' ')));
  for (const name of shipped.filter((n) => !n.startsWith('.')))
    assert.ok(listed.has(`opt/avscene/node_modules/${name}/*`), `${name} in the copyright file`);
  const licences = new Set([...copyright.matchAll(/^License: (.+)$/gm)].flatMap((m) => m[1]!.split(/ or | and /)));
  for (const id of licences)
    assert.match(copyright, new RegExp(`^License: ${id.replace(/[.+]/g, '\\$&')}\\n `, 'm'), `${id} has its text`);

  const files = execFileSync('find', [path.join(unpacked, 'opt/avscene'), '-type', 'f'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }).split('\n');
  const rel = files.map((f) => path.relative(path.join(unpacked, 'opt/avscene'), f));
  const unwanted = rel.filter(
    (f) =>
      /^node_modules\/(.*\/)?(node-gyp|cacache|make-fetch-happen|nan|adm-zip|global-agent)\//.test(f) ||
      /\.map$|\.d\.ts$|\.gitattributes$|\.npmignore$|\.eslintrc/.test(f) ||
      /^node_modules\/.*\/(test|tests|__tests__|docs?|examples?|benchmarks?)\//.test(f) ||
      f === 'node_modules/pino/index.html',
  );
  assert.deepEqual(unwanted.slice(0, 10), [], `${unwanted.length} files a device never runs`);
  assert.ok(!readFileSync(path.join(unpacked, 'opt/avscene/dist/cli/main.js'), 'utf8').includes('sourceMappingURL'));
  // Native modules without symbols; no executable bit on libraries.
  for (const f of files.filter((x) => /\.node$|\.so(\.\d+)*$/.test(x))) {
    const sections = execFileSync('readelf', ['-S', '-W', f], { encoding: 'utf8' });
    assert.doesNotMatch(sections, /\.symtab|\.debug_info/, `${f} is stripped`);
    assert.equal(statSync(f).mode & 0o111, 0, `${f} is not executable`);
  }
});
