/** WAV file source: exact 1-s windows from real recordings and generated files, loop, pacing, clear errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FileAudioSource } from '../../src/capture/audio-file.js';
import { createAudioSource } from '../../src/capture/index.js';
import type { AudioWindow } from '../../src/capture/types.js';
import { writeWav } from '../features/support.js';
import { tempDir } from '../helpers/media.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, REPO_ROOT, SHARED_DATA } from '../helpers/paths.js';
import { memoryLogger, take } from './support.js';

const dir = tempDir('avscene-capture-file-');
after(() => rmSync(dir, { recursive: true, force: true }));

function source(file: string, opts: { loop?: boolean; realtime?: boolean } = {}) {
  const log = memoryLogger();
  const src = new FileAudioSource({
    file,
    loop: opts.loop ?? false,
    realtime: opts.realtime ?? false,
    logger: log.logger,
  });
  return { src, log };
}

async function all(src: FileAudioSource): Promise<AudioWindow[]> {
  const out: AudioWindow[] = [];
  for await (const w of src.windows(new AbortController().signal)) out.push(w);
  return out;
}

/** x[i] = i / 2^23: every sample names its own position, exactly representable in 24-bit PCM and in float32. */
function rampSamples(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i / 2 ** 23);
}

describe('file audio source: generated WAVs', () => {
  it('cuts a 48 kHz 24-bit mono file into exact, sample-aligned windows and drops the trailing partial window', async () => {
    const file = path.join(dir, 'ramp-48k-mono24.wav');
    writeWav(file, { sampleRate: 48000, channels: [rampSamples(48000 * 3 + 12345)], format: 'pcm24' });
    const { src, log } = source(file);
    const windows = await all(src);
    assert.equal(windows.length, 3);
    windows.forEach((w, k) => {
      assert.equal(w.index, k);
      assert.equal(w.mediaOffset, k);
      assert.equal(w.left.length, 48000);
      assert.equal(w.right.length, 48000);
      assert.equal(w.end.getTime() - w.start.getTime(), 1000);
      if (k > 0) assert.equal(w.start.getTime() - windows[k - 1]!.start.getTime(), 1000);
      for (let j = 0; j < 48000; j += 997) {
        assert.equal(w.left[j]! * 2 ** 23, k * 48000 + j, `window ${k} sample ${j}`);
        assert.equal(w.right[j], w.left[j], 'mono is copied to both channels');
      }
      assert.equal(w.left[47999]! * 2 ** 23, k * 48000 + 47999);
    });
    assert.match(log.text(), /last 12345 sample\(s\) \(0\.257 s\) of .* shorter than a window and are not classified/);
  });

  it('resamples a 44.1 kHz 24-bit mono file to 48 kHz without shifting it (a click at 2.5 s lands at window 2, sample 24000)', async () => {
    const n = Math.round(44100 * 3.7);
    const x = new Float64Array(n);
    x[Math.round(44100 * 2.5)] = 0.9;
    const file = path.join(dir, 'click-44k1-mono24.wav');
    writeWav(file, { sampleRate: 44100, channels: [x], format: 'pcm24' });
    const { src, log } = source(file);
    const windows = await all(src);
    assert.equal(windows.length, 3, '3.7 s → 3 whole windows');
    let peak = { w: -1, j: -1, v: 0 };
    for (const w of windows) {
      for (let j = 0; j < 48000; j++)
        if (Math.abs(w.left[j]!) > Math.abs(peak.v)) peak = { w: w.index, j, v: w.left[j]! };
    }
    assert.equal(peak.w, 2);
    assert.ok(Math.abs(peak.j - 24000) <= 1, `click at sample ${peak.j} of window 2, expected 24000`);
    assert.match(log.text(), /\(0\.700 s\) of/);
  });

  it('replays the file with loop: media offsets restart, index and wall-clock times keep counting', async () => {
    const file = path.join(dir, 'ramp-2s.wav');
    writeWav(file, { sampleRate: 48000, channels: [rampSamples(48000 * 2 + 100)], format: 'pcm24' });
    const { src } = source(file, { loop: true });
    const windows = await take(src.windows(new AbortController().signal), 7);
    assert.deepEqual(
      windows.map((w) => w.index),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      windows.map((w) => w.mediaOffset),
      [0, 1, 0, 1, 0, 1, 0],
    );
    windows.forEach((w) =>
      assert.equal(w.left[0]! * 2 ** 23, w.mediaOffset * 48000, 'each pass starts at sample 0 of the file'),
    );
    assert.equal(windows[6]!.start.getTime() - windows[0]!.start.getTime(), 6000);
  });

  it('stops when the signal aborts, also while looping', async () => {
    const file = path.join(dir, 'ramp-2s.wav');
    const { src } = source(file, { loop: true });
    const ac = new AbortController();
    let n = 0;
    for await (const w of src.windows(ac.signal)) {
      assert.equal(w.index, n++);
      if (n === 3) ac.abort();
    }
    assert.equal(n, 3);
  });

  it('paces windows in real time: window i is handed out once it would have been fully recorded', async () => {
    const file = path.join(dir, 'ramp-2s.wav');
    const { src } = source(file, { realtime: true });
    const t0 = Date.now();
    const arrivals: number[] = [];
    for await (const w of src.windows(new AbortController().signal)) {
      arrivals.push(Date.now());
      assert.ok(Date.now() >= w.end.getTime(), 'not before its end');
    }
    assert.equal(arrivals.length, 2);
    assert.ok(arrivals[1]! - t0 >= 1990, `two windows took ${arrivals[1]! - t0} ms, expected about 2 s`);
  });

  it('gives clear errors for a missing file, a non-WAV file and a file shorter than one window', async () => {
    await assert.rejects(
      all(source(path.join(dir, 'nope.wav')).src),
      /audio\.file ".*nope\.wav" cannot be used: .*nope\.wav does not exist; set audio\.file to a WAV file/,
    );
    await assert.rejects(
      all(source(path.join(REPO_ROOT, 'test', 'capture', 'support.ts')).src),
      /support\.ts: not a WAV file/,
    );
    const short = path.join(dir, 'short.wav');
    writeWav(short, { sampleRate: 16000, channels: [new Float64Array(8000)], format: 'pcm16' });
    await assert.rejects(all(source(short).src), /0\.500 s long, shorter than one 1-s window/);
  });

  it('is what createAudioSource builds for audio.source=file', () => {
    const { logger } = memoryLogger();
    const src = createAudioSource(
      { audio: { source: 'file', device: 'default', file: '/x.wav', loop: true }, sources: { realtime: false } },
      logger,
    );
    assert.ok(src instanceof FileAudioSource);
    assert.match(src.description, /file \/x\.wav \(loop\)/);
  });
});

describe('file audio source: real recordings', () => {
  const skip = HAS_SHARED_DATA ? false : NO_SHARED_DATA;
  it('gives the 10 windows of a 10-s TAU clip (48 kHz 24-bit stereo), sample for sample as sox decodes it', {
    skip,
  }, async () => {
    const audioDir = path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio');
    const clip = path.join(
      audioDir,
      readdirSync(audioDir)
        .filter((f) => f.endsWith('.wav'))
        .sort()[0]!,
    );
    const raw = path.join(dir, 'tau.f32');
    const sox = spawnSync('sox', [clip, '-t', 'f32', raw]);
    assert.equal(sox.status, 0, `sox failed: ${sox.stderr}`);
    const bytes = readFileSync(raw);
    const ref = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    const windows = await all(source(clip).src);
    assert.equal(windows.length, 10);
    for (const w of windows) {
      for (let j = 0; j < 48000; j++) {
        const at = 2 * (w.mediaOffset * 48000 + j);
        if (w.left[j] !== ref[at] || w.right[j] !== ref[at + 1])
          assert.fail(`window ${w.index} sample ${j} differs from sox`);
      }
    }
  });

  it('gives the 10 windows of the 44.1 kHz demo clip resampled to 48 kHz in place, as sox `rate -v` does it', {
    skip,
  }, async () => {
    const demo = path.join(SHARED_DATA, 'demo', 'acoustic_scene.wav');
    const raw = path.join(dir, 'demo-48k.f32');
    const sox = spawnSync('sox', ['-D', demo, '-t', 'f32', raw, 'rate', '-v', '48000']);
    assert.equal(sox.status, 0, `sox failed: ${sox.stderr}`);
    const bytes = readFileSync(raw);
    const ref = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    const windows = await all(source(demo).src);
    assert.deepEqual(
      windows.map((w) => w.mediaOffset),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    for (const w of windows) {
      // Same signal at the same place: the difference to sox is far below the signal (both resamplers are flat to
      // 19.5 kHz and differ only in their transition bands), in every window and both channels.
      for (const [channel, samples] of [
        [0, w.left],
        [1, w.right],
      ] as const) {
        let signal = 0;
        let error = 0;
        for (let j = 0; j < 48000; j++) {
          const expected = ref[2 * (w.mediaOffset * 48000 + j) + channel]!;
          signal += expected ** 2;
          error += (samples[j]! - expected) ** 2;
        }
        const db = 10 * Math.log10(error / signal);
        assert.ok(
          signal > 0 && db < -60,
          `window ${w.index} channel ${channel}: difference to sox at ${db.toFixed(1)} dB re the signal`,
        );
      }
    }
  });
});
