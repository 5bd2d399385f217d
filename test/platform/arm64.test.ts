/**
 * The daemon's audio path on the Jetson's CPU architecture (arm64), with the same node_modules as the rest of the suite:
 * under qemu with the arm64 Node.js that `make setup-test` caches (node_modules/.avscene-arm64-node) on x86_64, natively
 * on an arm64 machine. A native dependency without an arm64 binary, or an OpenCV import on the audio-only path (the
 * binding here is compiled for the host CPU, so loading it under arm64 fails), breaks these tests.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/media.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { cliEnv, sets } from '../helpers/cli.js';
import { compareDb, readNumpy } from '../features/support.js';

const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');
const ARM64_WRAPPER = path.join(REPO_ROOT, 'node_modules', '.avscene-arm64-node');
const LIBRARY_PROBE = pathToFileURL(path.join(import.meta.dirname, 'fixtures', 'loaded-libraries.mjs')).href;
const NATIVE_ARM64 = process.arch === 'arm64';

// Three seconds of the demo recording keep the emulated runs short (qemu runs arm64 code about 10 times slower, and
// most of each run is start-up): as recorded (44.1 kHz, so the resampler runs too) and converted to 48 kHz by sox.
let clip44k: string;
let clip48k: string;
before(() => {
  const dir = tempDir('avscene-arm64-clips-');
  clip44k = path.join(dir, 'scene-44k.wav');
  clip48k = path.join(dir, 'scene-48k.wav');
  execFileSync('sox', [DEMO_CLIP, clip44k, 'trim', '0', '3']);
  execFileSync('sox', [DEMO_CLIP, '-r', '48000', clip48k, 'trim', '0', '3']);
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Shared libraries the process loaded (process.report), e.g. …/linux/arm64/libonnxruntime.so.1. */
  libraries: string[];
}

/** `avscene ARGS` on the arm64 Node.js (arm64: true) or on this one, as a user would run it. */
function avscene(arm64: boolean, args: string[], timeoutMs = 120_000): Run {
  const node = arm64 && !NATIVE_ARM64 ? ARM64_WRAPPER : process.execPath;
  if (arm64 && !NATIVE_ARM64) {
    assert.ok(
      existsSync(node),
      `${node} is missing: \`make setup-test\` installs qemu and the arm64 Node.js and writes it`,
    );
  }
  const librariesFile = path.join(tempDir('avscene-arm64-'), 'libraries.json');
  const r = spawnSync(node, ['--import', LIBRARY_PROBE, CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...cliEnv(), AVSCENE_LOADED_LIBRARIES: librariesFile }, // its own state.dir: seq starts at 0
  });
  const libraries = existsSync(librariesFile) ? (JSON.parse(readFileSync(librariesFile, 'utf8')) as string[]) : [];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? `\n${r.error.message}` : ''), libraries };
}

function assertArm64Run(run: Run, what: string): void {
  assert.equal(run.status, 0, `${what} on arm64 failed:\n${run.stderr}`);
  const ort = run.libraries.filter((lib) => /onnxruntime/.test(lib));
  if (ort.length > 0) {
    assert.ok(
      ort.every((lib) => lib.includes(`${path.sep}linux${path.sep}arm64${path.sep}`)),
      `onnxruntime-node's own linux/arm64 binaries are the ones loaded: ${ort.join(', ')}`,
    );
  }
  const opencv = run.libraries.filter((lib) => /opencv/i.test(lib));
  assert.deepEqual(
    opencv,
    [],
    `the audio-only path loads no OpenCV (it is not built for arm64 here): ${opencv.join(', ')}`,
  );
}

test('avscene features on a real recording (44.1 kHz, resampled) gives the amd64 output within the spec tolerance (0.01 dB)', async (t) => {
  const dir = tempDir('avscene-arm64-features-');
  const list = path.join(dir, 'clips.txt');
  writeFileSync(list, `${clip44k}\n`);
  const kinds = ['logmel', 'bark', 'scalogram'];
  const outputs: Record<string, string> = {};
  for (const [arch, arm64] of [
    ['amd64', false],
    ['arm64', true],
  ] as const) {
    outputs[arch] = path.join(dir, arch);
    const run = avscene(arm64, [
      'features',
      '--list',
      list,
      '--kind',
      kinds.join(','),
      '--out-dir',
      outputs[arch]!,
      '--window',
      '1',
      '--jobs',
      '1',
    ]);
    if (arm64) assertArm64Run(run, 'avscene features');
    else assert.equal(run.status, 0, run.stderr);
  }
  for (const kind of kinds) {
    const file = `scene-44k.${kind}.npy`;
    const native = readNumpy(path.join(outputs.amd64!, file));
    const arm = readNumpy(path.join(outputs.arm64!, file));
    assert.deepEqual(arm.shape, native.shape, `${kind}: same shape`);
    assert.deepEqual(native.shape.slice(0, 2), [3, 6], `${kind}: 3 windows of 6 frames`);
    const cmp = compareDb(arm.data, native.data);
    t.diagnostic(
      `${kind}: arm64 vs amd64 max difference ${cmp.maxError.toExponential(2)} dB over ${cmp.compared} values`,
    );
    assert.ok(
      cmp.compared > native.data.length / 2,
      `${kind}: most values are within 80 dB of the maximum and compared`,
    );
    assert.ok(
      cmp.maxError <= 0.01,
      `${kind}: value ${cmp.worst} is ${arm.data[cmp.worst]} dB on arm64, ${native.data[cmp.worst]} dB on amd64`,
    );
  }
});

test("avscene classify with the demo bundle gives the amd64 probabilities within 1e-4, on onnxruntime-node's arm64 binary", () => {
  type Line = {
    window: { start: number };
    label: string;
    probs: Record<string, number>;
    summary?: { windows: number };
  };
  const parse = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
  const native = avscene(false, ['classify', clip48k, '--json']);
  assert.equal(native.status, 0, native.stderr);
  const arm = avscene(true, ['classify', clip48k, '--json']);
  assertArm64Run(arm, 'avscene classify');
  assert.ok(
    arm.libraries.some((lib) =>
      lib.endsWith(path.join('onnxruntime-node', 'bin', 'napi-v6', 'linux', 'arm64', 'libonnxruntime.so.1')),
    ),
    `onnxruntime-node's bundled linux/arm64 library ran the model; loaded: ${arm.libraries.filter((l) => l.includes('node_modules')).join(', ')}`,
  );
  const expected = parse(native.stdout);
  const got = parse(arm.stdout);
  assert.equal(got.length, expected.length, 'as many windows (and a summary)');
  assert.equal(got.at(-1)!.summary?.windows, 3);
  expected.slice(0, -1).forEach((want, i) => {
    const line = got[i]!;
    assert.equal(line.window.start, want.window.start);
    for (const [label, p] of Object.entries(want.probs)) {
      assert.ok(
        Math.abs(line.probs[label]! - p) <= 1e-4,
        `window ${i}, ${label}: arm64 ${line.probs[label]} vs amd64 ${p}`,
      );
    }
  });
});

test('avscene run on the embedded broker publishes every window of a file (sources.realtime=false) on arm64', async () => {
  const port = await freePort(); // never 1883: other test runs share this machine
  const run = avscene(true, [
    'run',
    '--watch',
    ...sets(`mqtt.embeddedPort=${port}`, 'device.id=arm64-check', `audio.file=${clip48k}`, 'sources.realtime=false'),
  ]);
  assertArm64Run(run, 'avscene run');
  // --watch subscribes before the first window is captured and prints each scene message the broker delivers.
  const watched = run.stdout.split('\n').filter((line) => line.startsWith('avscene/arm64-check/scene #'));
  assert.deepEqual(
    watched.map((line) => /#(\d+)/.exec(line)![1]),
    ['0', '1', '2'],
    `one message per window crossed the embedded broker:\n${run.stdout.slice(-3000)}`,
  );
});

test('the video path on arm64', {
  skip: 'needs an arm64 OpenCV binding, which is built on the device (make setup on the board); the binding here is compiled for this CPU',
}, () => {});
