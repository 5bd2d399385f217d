/**
 * ALSA source through its real path (node-record-lpcm16 → arecord → re-chunking → windows), without a sound card:
 * - the real arecord on an ALSA `file` plugin device that plays a fixture (ALSA_CONFIG_PATH adds the device);
 * - `arecord` shims first on PATH (a microphone that is unplugged, one that outruns the consumer, one in real time).
 * The fixture's sample frames carry their own index, so every window is checked sample for sample.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AlsaAudioSource } from '../../src/capture/audio-alsa.js';
import { createAudioSource } from '../../src/capture/index.js';
import type { AudioWindow } from '../../src/capture/types.js';
import { fromLavfi, tempDir } from '../helpers/media.js';
import { ERROR, WARN, hasProgram, indexPcm, indexPcmMismatch, memoryLogger, take } from './support.js';
import { waitFor } from '../helpers/wait.js';

const NO_ARECORD = hasProgram('arecord') ? false : 'arecord not found (install alsa-utils)';
const FAST = { initialMs: 100, maxMs: 200 };
const dir = tempDir('avscene-capture-alsa-');
const fixture = path.join(dir, 'index.raw');
const savedEnv = { ...process.env };

before(() => writeFileSync(fixture, indexPcm(48000 * 12)));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with extra environment variables (inherited by arecord), then restores the environment. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(vars)) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  }
}

/** An executable `arecord` in its own directory, for PATH. */
function shim(name: string, script: string): string {
  const shimDir = path.join(dir, name);
  mkdirSync(shimDir, { recursive: true });
  const file = path.join(shimDir, 'arecord');
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return `${shimDir}:${process.env.PATH}`;
}

/** Child processes of this test other than tsx's esbuild service: the recorders must be gone after each test. */
function children(): string {
  const out = spawnSync('pgrep', ['-a', '-P', String(process.pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter((l) => l.trim() && !l.includes('esbuild'))
    .join('\n');
}

/** `next` starts where `prev` ends (within 5 ms), or later after a clock restart; never inside it. */
function assertFollows(prev: AudioWindow, next: AudioWindow): void {
  const step = next.start.getTime() - prev.start.getTime();
  assert.ok(step > 995, `window ${next.index} starts ${step} ms after window ${prev.index}: windows must not overlap`);
  if (step >= 1005)
    assert.ok(
      step > 2000,
      `window ${next.index} starts ${step} ms after window ${prev.index}: off by less than a lost second`,
    );
}

describe('ALSA audio source', { skip: NO_ARECORD }, () => {
  it('reads exact, sample-aligned 1-s windows from an ALSA device (file plugin) and stops arecord when done', async () => {
    const conf = path.join(dir, 'asound-test.conf');
    writeFileSync(
      conf,
      `pcm.avscene_fixture { type file; slave.pcm "null"; file "/dev/null"; infile "${fixture}"; format "raw" }\n`,
    );
    const windows = await withEnv({ ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${conf}` }, async () => {
      const { logger, lines } = memoryLogger();
      // The file plugin delivers as fast as it can read; a deep queue keeps every fixture window for the check.
      const src = new AlsaAudioSource({ device: 'avscene_fixture', logger, maxQueued: 64 });
      const got = await take(src.windows(new AbortController().signal), 5);
      assert.deepEqual(
        lines.filter((l) => l.level >= WARN),
        [],
      );
      return got;
    });
    assert.deepEqual(
      windows.map((w) => w.index),
      [0, 1, 2, 3, 4],
    );
    for (const w of windows) {
      assert.equal(indexPcmMismatch(w, w.index * 48000), undefined);
      assert.equal(w.mediaOffset, w.index);
      assert.equal(w.end.getTime() - w.start.getTime(), 1000);
    }
    // Contiguous in time; a process starved of CPU for over a second (a loaded test machine) takes that as samples the
    // sound card lost and starts its clock again later: a gap is allowed then, an overlap never.
    for (let k = 1; k < windows.length; k++) assertFollows(windows[k - 1]!, windows[k]!);
    assert.equal(children(), '', 'arecord is gone once the consumer stops');
  });

  it('does not hold on to the windows it handed out (a microphone runs for months)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const conf = path.join(dir, 'asound-gc.conf');
    writeFileSync(
      conf,
      `pcm.avscene_fixture { type file; slave.pcm "null"; file "/dev/null"; infile "${fixture}"; format "raw" }\n`,
    );
    await withEnv({ ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${conf}` }, async () => {
      const { logger } = memoryLogger();
      const src = new AlsaAudioSource({ device: 'avscene_fixture', logger, maxQueued: 64 });
      const handedOut: Array<WeakRef<Float32Array>> = [];
      for await (const w of src.windows(new AbortController().signal)) {
        handedOut.push(new WeakRef(w.left));
        if (handedOut.length < 8) continue;
        // Still iterating: the consumer dropped windows 0–6, so nothing may keep their samples alive.
        await delay(0);
        gc();
        const kept = handedOut.slice(0, 7).filter((ref) => ref.deref() !== undefined).length;
        assert.equal(kept, 0, `${kept} of 7 consumed windows are still in memory`);
        break;
      }
    });
    assert.equal(children(), '');
  });

  it("reports a wrong device name with the device, arecord's reason and the fix, and keeps retrying", async () => {
    const { logger, lines } = memoryLogger();
    const src = new AlsaAudioSource({ device: 'avscene_no_such_pcm', logger, backoff: FAST });
    const ac = new AbortController();
    const got: AudioWindow[] = [];
    const run = (async () => {
      for await (const w of src.windows(ac.signal)) got.push(w);
    })();
    await waitFor(() => lines.filter((l) => l.level === ERROR).length >= 3, 10_000, 'four failed attempts');
    ac.abort();
    await run;
    assert.equal(got.length, 0);
    const errors = lines.filter((l) => l.level === ERROR);
    assert.match(
      errors[0]!.msg,
      /ALSA capture from "avscene_no_such_pcm" stopped: arecord exited with code 1: .*Unknown PCM avscene_no_such_pcm/,
    );
    assert.match(errors[0]!.msg, /arecord -L/);
    assert.match(errors[0]!.msg, /Restarting in 0\.1 s/);
    assert.match(errors[1]!.msg, /Restarting in 0\.2 s \(attempt 2\)/, 'backoff grows');
    assert.match(errors[2]!.msg, /\(attempt 4\)/, 'a device that stays away is logged at attempts 1, 2, 4, 8 …');
    assert.equal(children(), '');
  });

  it('says how to install arecord when it is missing', async () => {
    const { logger, lines } = memoryLogger();
    await withEnv({ PATH: path.join(dir, 'empty-path') }, async () => {
      const ac = new AbortController();
      const run = take(new AlsaAudioSource({ device: 'default', logger, backoff: FAST }).windows(ac.signal), 1);
      await waitFor(() => lines.some((l) => l.level === ERROR), 5000, 'the error');
      ac.abort();
      assert.deepEqual(await run, []);
    });
    assert.match(lines.find((l) => l.level === ERROR)!.msg, /arecord is not installed \(install alsa-utils/);
  });

  it('restarts after the microphone disappears mid-run, drops the torn window and keeps counting', async () => {
    const PATH = shim(
      'unplugged',
      // 2.5 s of audio, then the error arecord prints when a USB microphone is pulled out.
      `head -c ${48000 * 4 * 2.5} "${fixture}"\necho "arecord: pcm_read:2221: read error: No such device" >&2\nexit 1`,
    );
    const { logger, lines } = memoryLogger();
    const windows = await withEnv({ PATH }, () =>
      take(new AlsaAudioSource({ device: 'hw:1,0', logger, backoff: FAST }).windows(new AbortController().signal), 4),
    );
    assert.deepEqual(
      windows.map((w) => w.index),
      [0, 1, 2, 3],
    );
    assert.deepEqual(
      windows.map((w) => w.mediaOffset),
      [0, 1, 2.5, 3.5],
      'the half window before the failure counts as captured time',
    );
    // Each run of the shim starts the fixture again: windows 2 and 3 hold its frames 0… and 48000….
    assert.equal(indexPcmMismatch(windows[0]!, 0), undefined);
    assert.equal(indexPcmMismatch(windows[1]!, 48000), undefined);
    assert.equal(indexPcmMismatch(windows[2]!, 0), undefined);
    assert.equal(indexPcmMismatch(windows[3]!, 48000), undefined);
    const error = lines.find((l) => l.level === ERROR);
    assert.match(
      error!.msg,
      /"hw:1,0" stopped: arecord exited with code 1: arecord: pcm_read:2221: read error: No such device\. Check that the microphone is plugged in/,
    );
    assert.ok(
      lines.some((l) => /"hw:1,0" is running again/.test(l.msg)),
      'recovery is logged',
    );
  });

  it('keeps memory bounded when the consumer falls behind: the oldest windows are dropped and counted', async () => {
    // 12 s of audio at once, then a silent device; `burst-sent` appears once arecord has written all of it (the pipe
    // then holds at most 64 kB, a third of a window, that the source has not read yet).
    const sent = path.join(dir, 'burst-sent');
    const PATH = shim('burst', `cat "${fixture}"\ntouch "${sent}"\nexec sleep 30`);
    const { logger, lines } = memoryLogger();
    const src = new AlsaAudioSource({ device: 'default', logger, maxQueued: 3 });
    const later: AudioWindow[] = [];
    await withEnv({ PATH }, async () => {
      for await (const w of src.windows(new AbortController().signal)) {
        // A consumer busy with window 0 until the whole burst has arrived and the source has started dropping.
        if (w.index === 0) {
          await waitFor(
            () => existsSync(sent) && lines.some((l) => l.level === WARN),
            20_000,
            'the burst to be sent and windows dropped',
          );
        } else later.push(w);
        if (w.index === 11) break;
      }
    });
    // Kept: the newest `maxQueued` windows once the burst was read, plus window 11 if its last bytes were still in the pipe.
    const indices = later.map((w) => w.index);
    assert.equal(indices.at(-1), 11);
    assert.ok(
      indices.length === 3 || indices.length === 4,
      `only the newest maxQueued windows were kept: got ${indices.join(',')}`,
    );
    indices.forEach(
      (index, k) => k > 0 && assert.equal(index, indices[k - 1]! + 1, 'the kept windows are consecutive'),
    );
    for (const w of later) assert.equal(indexPcmMismatch(w, w.index * 48000), undefined);
    assert.match(
      lines.find((l) => l.level === WARN)?.msg ?? '',
      /falling behind the microphone: \d+ window\(s\) dropped/,
    );
    assert.equal(children(), '', 'the stalled recorder was stopped');
  });

  it('stamps live windows with the wall clock (real-time recorder)', {
    skip: hasProgram('ffmpeg') ? false : 'ffmpeg not found',
  }, async () => {
    const wav = path.join(dir, 'mic.wav');
    fromLavfi('sine=frequency=440:duration=5', ['-ac', '2'], wav);
    // Recipe B of the dependency notes: the real-time ffmpeg stands in for a microphone.
    const PATH = shim(
      'realtime',
      `exec ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "${wav}" -f s16le -acodec pcm_s16le -ar 48000 -ac 2 -`,
    );
    const { logger } = memoryLogger();
    const src = createAudioSource(
      { audio: { source: 'alsa', device: 'default', file: '', loop: false }, sources: { realtime: true } },
      logger,
    );
    assert.equal(src.description, 'alsa default');
    const arrivals: number[] = [];
    const windows: AudioWindow[] = [];
    await withEnv({ PATH }, async () => {
      for await (const w of src.windows(new AbortController().signal)) {
        arrivals.push(Date.now());
        windows.push(w);
        if (windows.length === 3) break;
      }
    });
    windows.forEach((w, k) => {
      // Stamped with the wall clock when its samples were recorded: shortly before it arrives, never after (the bound is
      // loose so that a CPU-starved test machine still passes; media-time stamps would be decades off).
      const lag = arrivals[k]! - w.end.getTime();
      assert.ok(lag >= -20 && lag < 10_000, `window ${k} ended ${lag} ms before it arrived`);
      if (k > 0) assertFollows(windows[k - 1]!, w);
    });
    assert.equal(children(), '');
  });
});
