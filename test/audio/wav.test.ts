/** WAV decoding: every supported encoding against sox's own conversion, container quirks, and clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AudioFormatError, assertFiniteAudio, decodeWav, findNonFinite } from '../../src/audio/index.js';
import { tempDir } from '../helpers/media.js';
import { NO_SOX, encodeWav, type SampleFormat } from '../features/support.js';

const dir = tempDir('avscene-wav-');

/** sox's own float32 conversion of a file (no dither), interleaved. */
function soxFloats(file: string): Float32Array {
  const raw = execFileSync('sox', ['-D', file, '-t', 'f32', '-e', 'floating-point', '-b', '32', '-']);
  return new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
}

/**
 * Formats with more precision than float32 differ from sox's float output, which keeps about 24 bits of full
 * scale (sox converts through its 32-bit integer sample); ours is the exact value rounded to float32.
 */
const soxEncodings: Array<{ label: string; args: string[]; tolerance: number }> = [
  { label: '8-bit unsigned', args: ['-e', 'unsigned-integer', '-b', '8'], tolerance: 0 },
  { label: '16-bit', args: ['-e', 'signed-integer', '-b', '16'], tolerance: 0 },
  { label: '24-bit (extensible)', args: ['-e', 'signed-integer', '-b', '24'], tolerance: 0 },
  { label: '32-bit int (extensible)', args: ['-e', 'signed-integer', '-b', '32'], tolerance: 2 ** -23 },
  { label: 'float32', args: ['-e', 'floating-point', '-b', '32'], tolerance: 0 },
  { label: 'float64', args: ['-e', 'floating-point', '-b', '64'], tolerance: 2 ** -23 },
];

for (const { label, args, tolerance } of soxEncodings) {
  test(`decodes ${label} WAV written by sox as sox reads it`, { skip: NO_SOX ?? false }, () => {
    const file = path.join(dir, `${label.replace(/\W+/g, '-')}.wav`);
    execFileSync('sox', [
      '-D',
      '-n',
      '-r',
      '44100',
      '-c',
      '3',
      ...args,
      file,
      'synth',
      '0.2',
      'sine',
      '440',
      'sine',
      '3000',
      'whitenoise',
      'vol',
      '0.7',
    ]);
    const audio = decodeWav(readFileSync(file), file);
    const expected = soxFloats(file);
    assert.equal(audio.sampleRate, 44100);
    assert.equal(audio.channels.length, 3);
    const frames = audio.channels[0]!.length;
    assert.equal(frames, 8820);
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < 3; c++) {
        const ours = audio.channels[c]![i]!,
          theirs = expected[3 * i + c]!;
        assert.ok(Math.abs(ours - theirs) <= tolerance, `${label}: sample ${i} channel ${c}: ${ours} vs sox ${theirs}`);
      }
    }
  });
}

test('skips LIST and odd-sized chunks (pad byte) before the data', () => {
  const left = [0.5, -0.25, 0.125],
    right = [-1, 0, 0.75];
  const buf = encodeWav({
    sampleRate: 48000,
    format: 'pcm16',
    channels: [left, right],
    chunksBeforeData: [
      { id: 'LIST', body: Buffer.from('INFOISFT\x05\x00\x00\x00odd!!', 'latin1') },
      { id: 'fact', body: Buffer.alloc(4) },
    ],
  });
  const audio = decodeWav(buf, 'list.wav');
  assert.deepEqual([...audio.channels[0]!], left);
  assert.deepEqual([...audio.channels[1]!], right);
});

test('reads a streamed WAV whose data size is 0xFFFFFFFF to the end of the file', () => {
  const audio = decodeWav(
    encodeWav({ sampleRate: 16000, format: 'float32', channels: [[0.1, 0.2, 0.3, 0.4]], dataSizeField: 0xffffffff }),
    'pipe.wav',
  );
  assert.equal(audio.sampleRate, 16000);
  assert.deepEqual([...audio.channels[0]!], [0.1, 0.2, 0.3, 0.4].map(Math.fround));
});

test('scales PCM per the spec: int16 / 2^15, int24 / 2^23, int32 / 2^31', () => {
  const cases: Array<[SampleFormat, number]> = [
    ['pcm16', 2 ** 15],
    ['pcm24', 2 ** 23],
    ['pcm32', 2 ** 31],
  ];
  for (const [format, full] of cases) {
    const audio = decodeWav(encodeWav({ sampleRate: 48000, format, channels: [[-1, 1, 0.5]] }), `${format}.wav`);
    assert.deepEqual([...audio.channels[0]!], [-1, (full - 1) / full, 0.5].map(Math.fround), format);
  }
});

function assertFormatError(buf: Buffer, ...phrases: RegExp[]): void {
  assert.throws(
    () => decodeWav(buf, '/data/clip.wav'),
    (err: unknown) => {
      assert.ok(err instanceof AudioFormatError, `expected AudioFormatError, got ${String(err)}`);
      assert.match(err.message, /^\/data\/clip\.wav: /, 'the message names the file');
      for (const phrase of phrases) assert.match(err.message, phrase);
      return true;
    },
  );
}

const good = encodeWav({
  sampleRate: 48000,
  format: 'pcm16',
  channels: [
    [0.1, 0.2, 0.3, 0.4],
    [0, 0, 0, 0],
  ],
});

test('not a WAV: empty, text, MP3, FLAC, RIFF of another type — each says so and what is supported', () => {
  assertFormatError(Buffer.alloc(0), /not a WAV file/, /empty/, /supported: .*PCM/);
  assertFormatError(Buffer.from('hello, this is not audio at all'), /not a WAV file/, /ffmpeg/);
  assertFormatError(Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00', 'latin1'), /not a WAV file/, /MP3/);
  assertFormatError(Buffer.from('fLaC\x00\x00\x00\x22\x00\x00\x00\x00', 'latin1'), /FLAC/);
  const avi = Buffer.from(good);
  avi.write('AVI ', 8, 'latin1');
  assertFormatError(avi, /not a WAV file/, /'AVI '/);
});

test('truncated data: the header announces more audio than the file holds', () => {
  assertFormatError(good.subarray(0, good.length - 6), /truncated audio data/, /announces 16 bytes/, /only 10 bytes/);
  assertFormatError(good.subarray(0, 30), /truncated or corrupt 'fmt '/);
  assertFormatError(good.subarray(0, 36), /no 'data' chunk/);
});

test('unsupported encodings: A-law, 12-bit PCM, 16-bit float — named, with the supported list', () => {
  const alaw = Buffer.from(good);
  alaw.writeUInt16LE(6, 20);
  assertFormatError(alaw, /unsupported encoding: A-law/, /supported:/);
  const pcm12 = Buffer.from(good);
  pcm12.writeUInt16LE(12, 34);
  assertFormatError(pcm12, /unsupported encoding: 12-bit integer PCM/);
  const half = Buffer.from(good);
  half.writeUInt16LE(3, 20);
  assertFormatError(half, /unsupported encoding: 16-bit float/);
});

test('zero-length audio and corrupt headers are errors', () => {
  assertFormatError(encodeWav({ sampleRate: 48000, format: 'pcm16', channels: [[]] }), /no audio samples/);
  const noChannels = Buffer.from(good);
  noChannels.writeUInt16LE(0, 22);
  assertFormatError(noChannels, /0 channels/);
  const badAlign = Buffer.from(good);
  badAlign.writeUInt16LE(3, 32);
  assertFormatError(badAlign, /block align 3/);
});

test('NaN and Inf samples are found (window path) and named (files)', () => {
  const samples = new Float32Array([0, 0.5, Number.NaN, Infinity]);
  assert.deepEqual(findNonFinite(samples), { index: 2, value: Number.NaN });
  assert.deepEqual(findNonFinite(samples.subarray(3)), { index: 0, value: Infinity });
  assert.equal(findNonFinite(new Float32Array([0, -1, 1, 1e30])), null);
  const audio = decodeWav(
    encodeWav({
      sampleRate: 48000,
      format: 'float32',
      channels: [
        [0, 0, 0],
        [0, 0, -Infinity],
      ],
    }),
    'inf.wav',
  );
  assert.throws(
    () => assertFiniteAudio(audio, 'inf.wav'),
    /^AudioFormatError: inf\.wav: sample 2 of channel 1 \(at 0\.000 s\) is -Infinity/,
  );
});
