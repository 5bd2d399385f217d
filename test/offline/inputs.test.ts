/**
 * What the offline commands do with input that is not a regular file (a FIFO blocked them forever), and with arguments
 * a careless user gives: each says what is wrong, with no errno and no hang, and leaves no half-written file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');
const EX_USAGE = 64;

function fifo(dir: string, name: string): string {
  const file = path.join(dir, name);
  execFileSync('mkfifo', [file]);
  return file;
}

/** Runs `args`; it must end (not hang on the FIFO) with a non-zero status and a message matching `expected`. */
function refuses(args: string[], status: number, expected: RegExp): void {
  const r = runCli(args, {}, 30_000);
  assert.notEqual(r.status, null, `${args.join(' ')} hung (killed after 30 s)`);
  assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, expected, args.join(' '));
  assert.doesNotMatch(r.stderr, /\bE[A-Z]{3,}\b|\n\s+at /, `${args.join(' ')}: no errno, no stack`);
}

test('features, features --list, bench --audio, classify and eval refuse a FIFO instead of waiting on it', () => {
  const dir = tempDir('avscene-fifo-');
  const pipe = fifo(dir, 'clip.wav');
  const notRegular = /named pipe \(FIFO\), not a regular file/;
  refuses(['features', pipe, '--kind', 'logmel', '--out', path.join(dir, 'x.npy')], EX_USAGE, notRegular);
  refuses(['features', '--list', fifo(dir, 'list.txt'), '--kind', 'logmel', '--out-dir', dir], EX_USAGE, notRegular);
  const list = path.join(dir, 'files.txt');
  writeFileSync(list, `${DEMO_CLIP}\nclip.wav\n`);
  refuses(['features', '--list', list, '--kind', 'logmel', '--out-dir', path.join(dir, 'out')], EX_USAGE, notRegular);
  refuses(['bench', '--audio', pipe, '--windows', '1'], EX_USAGE, notRegular);
  refuses(['classify', pipe], 78, /audio\.file: .*is not a file/);
  const dataset = path.join(dir, 'dataset');
  mkdirSync(path.join(dataset, 'evaluation_setup'), { recursive: true });
  fifo(path.join(dataset, 'evaluation_setup'), 'fold1_evaluate.csv');
  refuses(['eval', dataset], 1, notRegular);
});

test('features --out naming a folder says so and leaves no temporary file', () => {
  const dir = tempDir('avscene-features-out-');
  const out = path.join(dir, 'out');
  mkdirSync(out);
  refuses(
    ['features', DEMO_CLIP, '--kind', 'logmel', '--out', out],
    EX_USAGE,
    /--out .*out is a folder; give the file/,
  );
  assert.deepEqual(readdirSync(dir), ['out']);
  assert.deepEqual(readdirSync(out), []);
  // A folder that does not exist: the write fails, and nothing is left beside it.
  refuses(
    ['features', DEMO_CLIP, '--kind', 'logmel', '--out', path.join(dir, 'missing', 'x.npy')],
    1,
    /cannot write .*x\.npy: its folder does not exist/,
  );
  assert.deepEqual(readdirSync(dir), ['out']);
});

test('watch refuses a --device that is not a device id, and a --url that is not a broker URL', () => {
  refuses(['watch', '--device', '#'], EX_USAGE, /--device "#" is not a device id/);
  refuses(['watch', '--device', 'a/b'], EX_USAGE, /--device "a\/b" is not a device id/);
  refuses(
    ['watch', '--url', 'mqtt://127.0.0.1:99999'],
    EX_USAGE,
    /--url "mqtt:\/\/127\.0\.0\.1:99999" is not a valid URL/,
  );
  refuses(['watch', '--url', 'localhost:1883'], EX_USAGE, /is not a broker URL/);
});
