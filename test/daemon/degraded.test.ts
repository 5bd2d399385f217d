/**
 * The daemon when things go wrong in the field, end to end (built CLI, real mosquitto, real capture paths): a window
 * with non-finite samples, inference that falls behind a live source, and what `<prefix>/<id>/health` says about it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mosquittoForThisFile } from '../helpers/file-broker.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { writeWav } from '../features/support.js';
import { indexPcm } from '../capture/support.js';

const broker = mosquittoForThisFile();

interface Health {
  windows: number;
  degraded: number;
  dropped: number;
  invalid: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  mqttQueued: number;
  mqttDropped: number;
  rssMB: number;
  uptimeS: number;
}

/** Every window's message (`scene` carries only the newest). */
const scenes = (sub: Collector, device: string) =>
  sub.on(`avscene/${device}/window`).map((m) => JSON.parse(m.payload) as { seq: number; window: { start: string } });

test('a window with a NaN sample is skipped with a warning, counted in health, and the next window is published', async () => {
  const dir = tempDir();
  const n = 48000 * 3;
  const left = Float64Array.from({ length: n }, (_, i) => 0.1 * Math.sin(i / 9));
  left[48000 + 100] = Number.NaN; // window 1
  const wav = writeWav(path.join(dir, 'nan.wav'), { sampleRate: 48000, format: 'float32', channels: [left, left] });
  const device = 'nan-window';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  const daemon = startCli(daemonArgs(broker.url, device, `audio.file=${wav}`, 'sources.realtime=false'));
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  await sub.until(
    (m) => m.some((x) => x.topic.endsWith('/health')) && m.at(-1)?.payload === 'offline',
    10_000,
    'health and offline',
  );
  const published = scenes(sub, device);
  assert.deepEqual(
    published.map((s) => s.seq),
    [0, 1],
    'seq has no gap: it counts published windows',
  );
  assert.equal(
    Date.parse(published[1]!.window.start) - Date.parse(published[0]!.window.start),
    2000,
    'window 1 was the one skipped',
  );
  assert.ok(
    daemon
      .logs()
      .some((l) => l.level === 40 && String(l.msg) === 'window 1 has a non-finite sample (NaN at 100); skipped'),
  );
  const health = JSON.parse(sub.on(`avscene/${device}/health`).at(-1)!.payload) as Health;
  assert.equal(health.windows, 2);
  assert.equal(health.invalid, 1);
  assert.equal(health.dropped, 0);
  assert.equal(health.degraded, 0);
  assert.ok(
    health.mqttQueued >= 0 && health.mqttQueued <= 2,
    'at most the last windows still waiting for their acknowledgement',
  );
  assert.equal(health.mqttDropped, 0);
  assert.ok(health.latencyP95Ms >= health.latencyP50Ms && health.latencyP50Ms >= 0, JSON.stringify(health));
  assert.ok(health.rssMB > 20 && health.uptimeS >= 0, JSON.stringify(health));
  await sub.close();
});

test('when inference falls behind a live microphone the oldest waiting windows are dropped, logged and counted in health', async () => {
  // A microphone that delivers 12 s of audio at once (an `arecord` shim first on PATH), then stays silent.
  const dir = tempDir();
  const fixture = path.join(dir, 'burst.raw');
  writeFileSync(fixture, indexPcm(48000 * 12));
  mkdirSync(path.join(dir, 'bin'));
  const shim = path.join(dir, 'bin', 'arecord');
  writeFileSync(shim, `#!/bin/sh\ncat "${fixture}"\nexec sleep 60\n`);
  chmodSync(shim, 0o755);
  const device = 'falls-behind';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  const daemon = startCli(daemonArgs(broker.url, device, 'audio.source=alsa', 'inference.queue=1', 'log.level=debug'), {
    PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
  });
  const fate = (logs: Array<Record<string, unknown>>) => ({
    published: logs.filter((l) => typeof l.seq === 'number').length,
    dropped: logs.filter((l) => String(l.msg).startsWith('inference falls behind real time')),
  });
  // Each of the 12 windows is either classified or dropped.
  await daemon.until(
    (logs) => fate(logs).published + fate(logs).dropped.length >= 12,
    180_000,
    'all 12 windows classified or dropped',
  );
  daemon.child.kill('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  const { published, dropped } = fate(daemon.logs());
  assert.ok(dropped.length >= 1, 'windows were dropped: 12 arrived faster than inference runs');
  assert.deepEqual(
    dropped.map((l) => l.dropped),
    dropped.map((_, i) => i + 1),
    'each drop is logged with the running count',
  );
  assert.match(
    String(dropped[0]!.msg),
    /dropped the oldest waiting window \(a smaller model bundle or fewer image nets would keep up\)/,
  );
  await sub.until(
    (m) => m.some((x) => x.topic.endsWith('/health')) && m.at(-1)?.payload === 'offline',
    10_000,
    'health and offline',
  );
  assert.equal(scenes(sub, device).length, published);
  const health = JSON.parse(sub.on(`avscene/${device}/health`).at(-1)!.payload) as Health;
  assert.equal(health.windows, published);
  assert.equal(health.dropped, dropped.length);
  assert.equal(health.invalid, 0);
  await sub.close();
});
