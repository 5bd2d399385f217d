/** Every `--help` says what the code does: the options each command parses, the WAV inputs it decodes, the output it prints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { encodeWav, random, type SampleFormat } from '../features/support.js';
import type { Command } from '../../src/cli/command.js';
import { decodeWav } from '../../src/audio/wav.js';

const COMMANDS_DIR = path.join(REPO_ROOT, 'src', 'cli', 'commands');

async function commands(): Promise<Command[]> {
  const files = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.ts'));
  return Promise.all(
    files.map(async (f) => ((await import(path.join(COMMANDS_DIR, f))) as { command: Command }).command),
  );
}

test("each command's --help lists exactly the options it accepts", async () => {
  const all = await commands();
  assert.ok(all.length >= 7, `found the commands: ${all.map((c) => c.name).join(', ')}`);
  for (const command of all) {
    const shown = runCli([command.name, '--help']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(shown.stdout.trim(), command.help.trim(), `${command.name}: --help prints the command's help`);
    // `avscene config --print` in backquotes points at another command.
    const ownText = command.help.replace(/`[^`]*`/g, '');
    const documented = new Set([...ownText.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]!));
    documented.delete('help');
    for (const name of Object.keys(command.options)) {
      assert.ok(documented.has(name), `${command.name} --help documents --${name}`);
    }
    for (const name of documented) {
      // --no-naive is parseArgs' negation of --naive (bench); --set KEY=VALUE examples are the --set option.
      const option = name.startsWith('no-') && !(name in command.options) ? name.slice(3) : name;
      assert.ok(option in command.options, `${command.name} --help mentions --${name}, which it does not accept`);
    }
  }
});

test('the top-level help lists every command and says classify prints text unless --json', async () => {
  const r = runCli(['--help']);
  assert.equal(r.status, 0);
  for (const command of await commands())
    assert.match(r.stdout, new RegExp(`^  ${command.name} `, 'm'), `${command.name} is listed`);
  const classifyLine = r.stdout.split('\n').find((line) => line.startsWith('  classify '))!;
  assert.ok(
    !/JSON/.test(classifyLine) || /--json/.test(classifyLine),
    `"${classifyLine.trim()}" must not promise JSON by default`,
  );
});

/** The sample encodings a help text names, e.g. "8/16/24/32-bit integer or 32/64-bit float" → pcm8 … float64. */
function claimedFormats(help: string): SampleFormat[] {
  const ints = /(\d+(?:\/\d+)*)-bit integer/.exec(help)?.[1]?.split('/') ?? [];
  const floats = /(\d+(?:\/\d+)*)-bit float/.exec(help)?.[1]?.split('/') ?? [];
  return [...ints.map((b) => `pcm${b}`), ...floats.map((b) => `float${b}`)] as SampleFormat[];
}

const ALL_FORMATS: SampleFormat[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64'];

test('classify and features --help name exactly the WAV encodings the decoder reads, and any rate and channel count', async () => {
  const byName = new Map((await commands()).map((c) => [c.name, c]));
  const noise = random(7);
  const channel = () => Float32Array.from({ length: 4800 }, () => noise() - 0.5);
  for (const name of ['classify', 'features']) {
    const help = byName.get(name)!.help.replace(/\s+/g, ' ');
    assert.deepEqual(
      claimedFormats(help).sort(),
      [...ALL_FORMATS].sort(),
      `${name} --help names every encoding the decoder reads`,
    );
    assert.match(help, /any sample rate/, `${name}: rate`);
    assert.match(help, /any number of channels/, `${name}: channels`);
  }
  for (const format of ALL_FORMATS) {
    for (const channels of [1, 2, 3, 6]) {
      const wav = encodeWav({ sampleRate: 22050, format, channels: Array.from({ length: channels }, channel) });
      const decoded = decodeWav(wav, `${format}-${channels}ch.wav`);
      assert.equal(decoded.channels.length, channels, `${format}, ${channels} channels`);
    }
  }
  // A 16-bit float WAV is an encoding the help does not name: the decoder must refuse it, naming what works.
  const half = encodeWav({ sampleRate: 48000, format: 'pcm16', channels: [channel()] });
  half.writeUInt16LE(3, 20); // format tag: IEEE float, with 16 bits per sample
  assert.throws(() => decodeWav(half, 'half.wav'), /half\.wav: .*supported: .*float 32\/64-bit/);
});

test('classify reads an 8-bit mono file and a 6-channel 64-bit float file, as its help says', () => {
  const dir = tempDir('avscene-help-');
  const noise = random(3);
  for (const [format, channels] of [
    ['pcm8', 1],
    ['float64', 6],
  ] as const) {
    const file = path.join(dir, `${format}.wav`);
    writeFileSync(
      file,
      encodeWav({
        sampleRate: 16000,
        format,
        channels: Array.from({ length: channels }, () =>
          Float32Array.from({ length: 16000 }, () => 0.3 * (noise() - 0.5)),
        ),
      }),
    );
    const r = runCli(['classify', file]);
    assert.equal(r.status, 0, `${format} ×${channels}: ${r.stderr}`);
    assert.match(r.stdout, /^0:00–0:01 /m, 'text output (not JSON) by default');
    assert.match(r.stdout, /clip: \S+ .* over 1 window/);
  }
});
