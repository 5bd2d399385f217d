/** Command-line mistakes get exit 64 (EX_USAGE), a sentence naming the mistake, and no stack trace. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

const EX_USAGE = 64;
const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');

function expectUsageError(args: string[], message: RegExp): void {
  const r = runCli(args);
  assert.equal(r.status, EX_USAGE, `exit code of avscene ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message, `avscene ${args.join(' ')}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user error');
  assert.equal(r.stdout, '', 'nothing on stdout, which scripts read');
}

test('no command prints the help and exits 64; an unknown command is named, with the list of commands', () => {
  const bare = runCli([]);
  assert.equal(bare.status, EX_USAGE);
  assert.match(bare.stdout, /Commands:[\s\S]*classify/);
  expectUsageError(['clasify', DEMO_CLIP], /unknown command "clasify"[\s\S]*Commands:[\s\S]*classify/);
});

test('an unknown option is named, with the command usage', () => {
  expectUsageError(
    ['classify', DEMO_CLIP, '--vidoe', 'x.mp4'],
    /Unknown option '--vidoe'[\s\S]*Usage: avscene classify/,
  );
  expectUsageError(['run', '--whatch'], /Unknown option '--whatch'[\s\S]*Usage: avscene run/);
});

test('classify takes exactly one audio file', () => {
  expectUsageError(['classify'], /give exactly one audio file[\s\S]*Usage: avscene classify/);
  expectUsageError(['classify', DEMO_CLIP, DEMO_CLIP], /give exactly one audio file/);
});

test('bench refuses counts, lanes and optimisation levels it cannot use', () => {
  expectUsageError(['bench', '--windows', '0'], /--windows must be a whole number ≥ 1/);
  expectUsageError(['bench', '--windows', 'ten'], /--windows must be a whole number ≥ 1/);
  expectUsageError(['bench', '--warmup=-1'], /--warmup must be a whole number ≥ 0/);
  expectUsageError(['bench', '--lanes', '3'], /--lanes must be 1 or 2/);
  expectUsageError(['bench', '--optimization', 'fast'], /--optimization must be disabled, basic, extended or all/);
});

test('config without --print or --schema says what to ask for', () => {
  expectUsageError(['config'], /say what to print: avscene config --print \(or --schema\)/);
});

test('config --schema documents every key with its default and environment variable', () => {
  const r = runCli(['config', '--schema']);
  assert.equal(r.status, 0, r.stderr);
  const schema = JSON.parse(r.stdout) as Record<string, { doc: string; default: unknown; env?: string }>;
  assert.equal(schema['inference.queue']?.default, 4);
  assert.equal(schema['inference.queue']?.env, 'AVSCENE_INFERENCE_QUEUE');
  for (const [key, entry] of Object.entries(schema)) assert.ok(entry.doc.length > 10, `${key} is documented`);
  assert.equal(schema['mqtt.password']?.default, '', 'no secret default is printed');
});
