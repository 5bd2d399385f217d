/** Progress lines (`\r`, rewritten in place) of `eval` and `features` go to a terminal only, never into a redirected stderr. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';

const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');

/** A one-clip dataset in the TAU layout (audio only) and a list file for `features --list`. */
function fixtures(): { dataset: string; list: string; out: string } {
  const dir = tempDir('avscene-progress-');
  const dataset = path.join(dir, 'dataset');
  mkdirSync(path.join(dataset, 'audio'), { recursive: true });
  mkdirSync(path.join(dataset, 'evaluation_setup'));
  copyFileSync(DEMO_CLIP, path.join(dataset, 'audio', 'street.wav'));
  writeFileSync(
    path.join(dataset, 'evaluation_setup', 'fold1_evaluate.csv'),
    'filename_audio\tfilename_video\tscene_label\naudio/street.wav\tvideo/street.mp4\tstreet_traffic\n',
  );
  const list = path.join(dir, 'clips.txt');
  writeFileSync(list, `${DEMO_CLIP}\n`);
  return { dataset, list, out: path.join(dir, 'features') };
}

function commands(f: ReturnType<typeof fixtures>): Array<[string, string[]]> {
  return [
    ['eval', ['eval', f.dataset]],
    ['features', ['features', '--list', f.list, '--kind', 'logmel', '--out-dir', f.out, '--jobs', '1']],
  ];
}

test('with stderr redirected, eval and features write no progress lines', () => {
  const f = fixtures();
  for (const [name, args] of commands(f)) {
    const r = runCli(args);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      !r.stderr.includes('\r'),
      `${name}: no \\r in a redirected stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`,
    );
  }
});

test('on a terminal, eval and features show their progress line', () => {
  const f = fixtures();
  for (const [name, args] of commands(f)) {
    // script(1) gives the command a pseudo-terminal and copies what it shows to our stdout.
    const line = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', line, '/dev/null'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, AVSCENE_LOG_FORMAT: 'json' },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's erase-line sequence is what is checked
    assert.match(r.stdout, /\r\x1b\[K\[1\/1\]/, `${name}: the progress line "[1/1] …" on the terminal`);
  }
});
