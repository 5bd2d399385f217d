/**
 * Live video sources through the real OpenCV capture path, without a camera:
 * - a live GStreamer pipeline (videotestsrc is-live) as video.source=url;
 * - an HTTP MPEG-TS stream served by a separate process on 127.0.0.1 (an IP camera stand-in) that the test
 *   kills and restarts: the camera vanishes (one warning, null frames) and comes back (logged, frames again);
 * - a V4L2 device path that does not exist (camera unplugged at boot).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createVideoSource } from '../../src/capture/index.js';
import type { AudioWindow } from '../../src/capture/types.js';
import { LiveVideoSource } from '../../src/capture/video-live.js';
import type { PreprocessedFrame } from '../../src/capture/types.js';
import type { PreprocessSpec } from '../../src/video/preprocess.js';
import { preprocessKey } from '../../src/video/preprocess.js';
import { freePort } from '../helpers/mosquitto.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { WARN, hasProgram, memoryLogger, windowAt } from './support.js';

const FAST = { initialMs: 200, maxMs: 400 };
const SERVER = path.join(REPO_ROOT, 'test', 'capture', 'fixtures', 'stream-server.mjs');
// biome-ignore lint/suspicious/noTemplateCurlyInString: ${Status} is dpkg-query's field syntax, not a template
const NO_GST_PLUGINS = spawnSync('dpkg-query', ['-W', '-f', '${Status}', 'gstreamer1.0-plugins-base'], {
  encoding: 'utf8',
}).stdout?.includes('installed')
  ? false
  : 'GStreamer base plugins (videotestsrc, appsink) not installed: apt-get install gstreamer1.0-plugins-base';
const GST_PIPELINE =
  'videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=10/1 ! videoconvert ! video/x-raw,format=BGR ! appsink';

/** A 1-s window that ended `agoMs` ago (wall clock), as a live microphone would deliver it. */
function liveWindow(agoMs: number): AudioWindow {
  return windowAt(0, 0, Date.now() - agoMs - 1000);
}

async function until<T>(
  probe: () => Promise<T | null | undefined> | T | null | undefined,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await delay(50);
  }
}

/** The video processes (src/capture/video-child.ts) that this test process has running. */
function videoProcesses(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); // "pid (comm) state ppid …"
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const running = ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('video-child');
        return running ? [Number(pid)] : [];
      } catch {
        return []; // exited while being read
      }
    });
}

async function startServer(port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(proc.stdout!, 'data'); // "listening"
  return proc;
}

async function stopServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

describe('live video sources', () => {
  it('keeps recent frames of a live stream and gives the one nearest the window midpoint (GStreamer pipeline)', {
    skip: NO_GST_PLUGINS,
  }, async () => {
    const { logger, lines } = memoryLogger();
    const src = new LiveVideoSource({ kind: 'url', target: GST_PIPELINE, logger });
    await src.start();
    try {
      const first = await until(() => src.frameFor(liveWindow(0)), 30_000, 'the first frame');
      // A window that starts after the first frame and has just ended: the camera ran all through it.
      await until(() => Date.now() > first.timestamp + 1200, 5000, 'a whole window of frames');
      const w = liveWindow(100);
      const mid = (w.start.getTime() + w.end.getTime()) / 2;
      const f = await src.frameFor(w);
      assert.ok(f, 'a frame for a window that just ended');
      assert.equal(f.width, 64);
      assert.equal(f.height, 48);
      assert.equal(f.bgr.length, 64 * 48 * 3);
      // Frames come every 100 ms and at most one per 100 ms is kept: the nearest is within about a frame interval.
      assert.ok(Math.abs(f.timestamp - mid) <= 150, `frame at ${f.timestamp - mid} ms from the midpoint`);
      assert.equal(
        await src.frameFor(liveWindow(10_000)),
        null,
        'a window 10 s old is farther than maxSkewMs from every frame',
      );
      assert.deepEqual(
        lines.filter((l) => l.level >= WARN),
        [],
      );
    } finally {
      await src.stop();
    }
  });

  it('for an image bundle a camera frame comes as its preprocessed tensors, like a file’s (GStreamer pipeline)', {
    skip: NO_GST_PLUGINS,
  }, async () => {
    const block = { resize: 48, crop: [32, 40] as [number, number], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
    const src = new LiveVideoSource({
      kind: 'url',
      target: GST_PIPELINE,
      logger: memoryLogger().logger,
      preprocess: [block as PreprocessSpec],
    });
    await src.start();
    try {
      const f = await until(() => src.frameFor(liveWindow(0)), 30_000, 'the first frame');
      assert.ok(!('bgr' in f), 'no BGR image crosses');
      assert.deepEqual([f.width, f.height], [64, 48]);
      const t = (f as PreprocessedFrame).tensors[preprocessKey(block as PreprocessSpec)];
      assert.equal(t?.length, 3 * 32 * 40);
      // (x/255 − 0.5)/0.25 lies in [−2, 2] for every 8-bit pixel
      assert.ok(t!.every((v) => v >= -2 && v <= 2));
    } finally {
      await src.stop();
    }
  });

  it('keeps only the last ringSeconds of frames (a months-long stream holds a few frames, not all of them)', {
    skip: NO_GST_PLUGINS,
  }, async () => {
    const { logger } = memoryLogger();
    // A 1-s ring and no skew limit: an old window gets the oldest frame still kept, which shows how far back the ring goes.
    const src = new LiveVideoSource({
      kind: 'url',
      target: GST_PIPELINE,
      logger,
      ringSeconds: 1,
      maxSkewMs: 3_600_000,
    });
    await src.start();
    try {
      const first = await until(() => src.frameFor(liveWindow(0)), 30_000, 'the first frame');
      await until(() => Date.now() > first.timestamp + 2500, 5000, 'frames for longer than the ring holds');
      const asked = Date.now();
      const oldest = await src.frameFor(windowAt(0, 0, first.timestamp - 1500)); // midpoint before the first frame
      assert.ok(oldest, 'some frame is kept');
      assert.ok(oldest.timestamp > first.timestamp + 1000, 'the first frames were released');
      assert.ok(
        asked - oldest.timestamp <= 1000 + 500,
        `the oldest kept frame is ${asked - oldest.timestamp} ms old, the ring holds 1 s`,
      );
    } finally {
      await src.stop();
    }
  });

  it('reports a stream that vanishes once, gives null meanwhile, and recovers when it is back', {
    skip: hasProgram('ffmpeg') ? false : 'ffmpeg not found',
  }, async () => {
    const port = await freePort();
    let server = await startServer(port);
    const { logger, lines } = memoryLogger();
    const src = new LiveVideoSource({ kind: 'url', target: `http://127.0.0.1:${port}/cam.ts`, logger, backoff: FAST });
    await src.start();
    try {
      const first = await until(() => src.frameFor(liveWindow(0)), 30_000, 'the first frame');
      assert.equal(first.width, 64);

      await stopServer(server);
      await until(() => lines.some((l) => l.level === WARN && /unavailable/.test(l.msg)), 30_000, 'the warning');
      assert.equal(await src.frameFor(liveWindow(0)), null, 'no image while the camera is gone');
      // Several reopen attempts fail meanwhile (logged at debug level only).
      await until(
        () => lines.filter((l) => l.msg === 'camera still unavailable').length >= 2,
        30_000,
        'two failed reopen attempts',
      );
      const warnings = lines.filter((l) => l.level === WARN);
      assert.equal(warnings.length, 1, 'one warning per outage');
      assert.match(
        warnings[0]!.msg,
        new RegExp(`camera url http://127\\.0\\.0\\.1:${port}/cam\\.ts is unavailable: .*Windows get no image`),
      );
      assert.ok(
        lines.some((l) => /cannot connect to 127\.0\.0\.1/.test(String(l.reason))),
        'reopen attempts see the refused connection',
      );

      server = await startServer(port);
      await until(() => lines.some((l) => /^camera .* is back$/.test(l.msg)), 30_000, 'recovery'); // a new video process starts
      await until(() => src.frameFor(liveWindow(0)), 30_000, 'frames after recovery');
    } finally {
      await src.stop();
      await stopServer(server);
    }
  });

  it('a stream that stays open but stops sending is noticed by the stall watchdog, and its frames are welcome again', {
    skip: hasProgram('ffmpeg') ? false : 'ffmpeg not found',
  }, async () => {
    const port = await freePort();
    const server = await startServer(port);
    const { logger, lines } = memoryLogger();
    const src = new LiveVideoSource({
      kind: 'url',
      target: `http://127.0.0.1:${port}/cam.ts`,
      logger,
      backoff: FAST,
      stallMs: 1000,
    });
    await src.start();
    try {
      await until(() => src.frameFor(liveWindow(0)), 30_000, 'the first frame');
      // The camera freezes with its connection open (SIGSTOP): no error, no end of stream, just no frames.
      server.kill('SIGSTOP');
      await until(() => lines.some((l) => l.level === WARN), 30_000, 'the stall warning');
      assert.match(lines.find((l) => l.level === WARN)!.msg, /is unavailable: no frame for 1 s\. Windows get no image/);
      assert.equal(await src.frameFor(liveWindow(0)), null, 'frames from before the stall are not handed out');
      server.kill('SIGCONT');
      await until(() => lines.some((l) => /^camera .* is back$/.test(l.msg)), 30_000, 'recovery'); // a new video process starts
      await until(() => src.frameFor(liveWindow(0)), 30_000, 'frames after the stall');
    } finally {
      server.kill('SIGCONT');
      await src.stop();
      await stopServer(server);
    }
  });

  it('a video process that dies while reading (a crash in OpenCV, the OOM killer) is reported with its end and replaced', {
    skip: NO_GST_PLUGINS,
  }, async () => {
    const { logger, lines } = memoryLogger();
    // A stall limit far beyond the test's waits: the death itself must be noticed, not the frames it stops sending.
    const src = new LiveVideoSource({ kind: 'url', target: GST_PIPELINE, logger, backoff: FAST, stallMs: 120_000 });
    await src.start();
    try {
      await until(() => src.frameFor(liveWindow(0)), 30_000, 'the first frame');
      const [pid, ...more] = videoProcesses();
      assert.ok(pid !== undefined && more.length === 0, `one video process, found ${[pid, ...more].join(', ')}`);
      process.kill(pid, 'SIGKILL');
      const warning = await until(() => lines.find((l) => l.level === WARN), 30_000, 'the warning');
      assert.match(warning.msg, /is unavailable: the video process exited \(SIGKILL\)\. Windows get no image/);
      await until(() => lines.some((l) => /^camera .* is back$/.test(l.msg)), 30_000, 'recovery');
      await until(() => src.frameFor(liveWindow(0)), 30_000, 'frames from the new video process');
      const [replacement] = videoProcesses();
      assert.ok(replacement !== undefined && replacement !== pid, 'a fresh video process reads the camera');
      assert.equal(lines.filter((l) => l.level === WARN).length, 1, 'one warning per outage');
    } finally {
      await src.stop();
    }
  });

  it("a V4L2 path that exists but is no camera is reported with OpenCV's answer, and opening is retried", async () => {
    const { logger, lines } = memoryLogger();
    const src = new LiveVideoSource({ kind: 'v4l2', target: '/dev/null', logger, backoff: FAST });
    await src.start();
    try {
      await until(() => lines.some((l) => l.level === WARN), 30_000, 'the warning'); // the video process starts first
      assert.match(
        lines.find((l) => l.level === WARN)!.msg,
        /camera v4l2 \/dev\/null is unavailable: (OpenCV cannot open it|the camera delivers no frames)/,
      );
      await until(
        () => lines.filter((l) => l.msg === 'camera still unavailable').length >= 2,
        10_000,
        'two more attempts',
      );
      assert.equal(lines.filter((l) => l.level === WARN).length, 1, 'one warning per outage');
      assert.equal(await src.frameFor(liveWindow(0)), null);
    } finally {
      await src.stop();
    }
  });

  it('a camera device that appears after start-up is opened then (the path is checked again at every attempt)', async () => {
    const { logger, lines } = memoryLogger();
    const dir = mkdtempSync('/dev/shm/avscene-v4l2-'); // video.device must lie under /dev
    const device = path.join(dir, 'video0');
    const src = new LiveVideoSource({ kind: 'v4l2', target: device, logger, backoff: FAST });
    await src.start();
    try {
      await until(() => lines.some((l) => l.level === WARN), 5000, 'the warning');
      assert.match(lines.find((l) => l.level === WARN)!.msg, /video0 does not exist \(camera unplugged\?/);
      // Plugged in: a device node appears at the path (here /dev/null's, which no camera driver serves).
      symlinkSync('/dev/null', device);
      await until(
        () => lines.some((l) => /OpenCV cannot open it|camera opened/.test(`${l.msg} ${String(l.reason)}`)),
        30_000,
        'an attempt to open the new device',
      );
    } finally {
      await src.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts without a camera plugged in: warns with the fix, gives null frames, keeps retrying', async () => {
    const { logger, lines } = memoryLogger();
    const src = new LiveVideoSource({ kind: 'v4l2', target: '/dev/video-avscene-absent', logger, backoff: FAST });
    await src.start();
    try {
      await until(() => lines.some((l) => l.level === WARN), 5000, 'the warning');
      assert.match(
        lines.find((l) => l.level === WARN)!.msg,
        /\/dev\/video-avscene-absent does not exist \(camera unplugged\? check video\.device/,
      );
      assert.equal(await src.frameFor(liveWindow(0)), null);
    } finally {
      await src.stop();
    }
  });

  it('refuses settings that cannot work, naming the key', async () => {
    const { logger } = memoryLogger();
    const video = { device: '/dev/video0', file: '', loop: false };
    await assert.rejects(
      createVideoSource({ video: { ...video, source: 'v4l2', device: 'video0' } }, logger)!.start(),
      /video\.device "video0" is not a V4L2 device/,
    );
    await assert.rejects(
      createVideoSource({ video: { ...video, source: 'url', file: 'camera.local/stream' } }, logger)!.start(),
      /video\.file "camera\.local\/stream" is not a stream URL/,
    );
    await assert.rejects(
      createVideoSource({ video: { ...video, source: 'url', file: 'file:///tmp/a.mp4' } }, logger)!.start(),
      /use video\.source=file/,
    );
    await assert.rejects(
      createVideoSource({ video: { ...video, source: 'url' } }, logger)!.start(),
      /video\.file is empty/,
    );
    assert.match(
      createVideoSource({ video: { ...video, source: 'url', file: 'rtsp://admin:secret@10.0.0.5/live' } }, logger)!
        .description,
      /rtsp:\/\/admin:\*\*\*@10\.0\.0\.5\/live/,
    );
  });
});
