/**
 * The operations endpoint on a real loopback HTTP listener: /healthz and /readyz follow the daemon's live state,
 * /metrics is valid Prometheus text whose counters and histograms move with the windows, the page's feed carries the
 * newest window, and a taken port is logged while the rest goes on.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { HttpSink } from '../../src/publish/http-sink.js';
import type { BundleManifest } from '../../src/inference/index.js';
import { notStarted, type LiveState } from '../../src/ops/live-state.js';
import type { ScenePayload } from '../../src/publish/payload.js';
import { memoryLogger } from '../capture/support.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { REPO_ROOT } from '../helpers/paths.js';

const MANIFEST = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio', 'bundle.json'), 'utf8'),
) as BundleManifest;
const MODEL = {
  bundle: MANIFEST,
  sha256: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  signed: false,
  since: new Date().toISOString(),
};
const sinks: HttpSink[] = [];
after(async () => Promise.all(sinks.map((s) => s.close(1000))));

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type State = LiveState & { outputs: Mutable<LiveState['outputs']> };

function healthyState(): State {
  return {
    ...notStarted(),
    sinceLastWindowMs: 400,
    started: true,
    outputs: { mqttConnected: 1, mqttQueued: 0, mqttOutboxFill: 0, mqttDropped: 0, mqttReconnects: 0 },
  };
}

async function startSink(state: LiveState, listen = '127.0.0.1:0'): Promise<{ sink: HttpSink; base: string }> {
  const sink = new HttpSink({ listen, deviceId: 'kitchen', version: '9.9.9' }, MODEL, memoryLogger().logger);
  sinks.push(sink);
  await sink.start(new AbortController().signal, () => state);
  const base = sink.address;
  return { sink, base };
}

function payload(seq: number, label: string): ScenePayload {
  const probs = Object.fromEntries(
    MANIFEST.classes.map((c) => [c, c === label ? 0.91 : 0.09 / (MANIFEST.classes.length - 1)]),
  );
  const start = new Date(Date.now() - 1000 + seq);
  return {
    label,
    confidence: 0.91,
    probs,
    seq,
    device: 'kitchen',
    window: { start: start.toISOString(), end: new Date(start.getTime() + 1000).toISOString() },
    modalities: ['audio'],
    degraded: false,
    model: { name: MANIFEST.name, version: MANIFEST.version },
    latencyMs: 42,
  };
}

test('/healthz and /readyz: 200 while windows flow and the broker is there, 503 with the reason otherwise', async () => {
  const state = healthyState();
  const { base } = await startSink(state);
  let r = await fetch(`${base}/healthz`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /^ok: last window 0\.4 s ago/);
  r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(await r.text(), /broker connected/);

  // The broker goes away: still ready while the outbox holds the labels …
  Object.assign(state.outputs, { mqttConnected: 0, mqttQueued: 99, mqttOutboxFill: 0.5 });
  r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /broker unreachable, 99 windows queued \(outbox at 50 % of its bound\)/);
  // … not once it is full and dropping.
  state.outputs.mqttOutboxFill = 0.95;
  r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 503);
  assert.match(
    await r.text(),
    /^unavailable: MQTT broker unreachable and the outbox is at 95 % of its bound \(99 windows\)/,
  );
  assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the broker is not the process’s health');

  // The audio source is gone: no window for 20 s.
  state.outputs = healthyState().outputs;
  state.sinceLastWindowMs = 20_000;
  r = await fetch(`${base}/healthz`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /no window for 20 s \(the audio source or inference is stalled/);
  assert.equal((await fetch(`${base}/readyz`)).status, 503);

  state.sinceLastWindowMs = null;
  r = await fetch(`${base}/healthz`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /no window classified yet/);

  // state.dir refuses writes (full or read-only card): labels go on, so still ready, and the reason says degraded.
  state.sinceLastWindowMs = 400;
  Object.assign(state.outputs, { stateDirWritable: 0, stateDirFailedWrites: 5 });
  r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /degraded: state\.dir not writable \(5 failed writes\)/);
});

test('a microphone that is away and retried: /healthz degraded (200), /readyz 503; a camera away: /readyz degraded (200), video down', async () => {
  const state = healthyState();
  const { base } = await startSink(state);
  const now = Date.now();
  state.sinceLastWindowMs = null;
  state.sinceStartMs = 20_000;
  state.audioSource = {
    noun: 'microphone hw:1,0',
    condition: { state: 'waiting', since: now, reason: 'arecord exited with code 1', retryAt: now + 7600 },
  };
  let r = await fetch(`${base}/healthz`);
  assert.equal(r.status, 200, 'retrying with backoff is healthy: a restart would not bring the microphone back');
  assert.match(await r.text(), /^degraded: waiting for microphone hw:1,0, retry in 8 s \(arecord exited with code 1\)/);
  r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 503, 'no labels without the microphone');
  assert.match(await r.text(), /^unavailable: waiting for microphone hw:1,0, retry in 8 s/);

  // A retry that never answers (arecord stuck in the driver) is no longer a wait but a stall.
  state.audioSource.condition = { state: 'waiting', since: now - 30_000, reason: 'x', retryAt: now - 20_000 };
  r = await fetch(`${base}/healthz`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /microphone hw:1,0: a retry has not come back for 20 s \(the capture is stuck\)/);

  // The microphone is back; the configured camera is refused: labels flow from audio alone.
  state.audioSource.condition = { state: 'up', since: now - 5000 };
  state.sinceLastWindowMs = 300;
  state.videoFrame = false;
  state.videoSource = {
    noun: 'camera url rtsp://cam.local/1',
    condition: { state: 'waiting', since: now, reason: 'connection refused', retryAt: now + 3500 },
  };
  r = await fetch(`${base}/readyz`);
  assert.equal(r.status, 200);
  assert.match(
    await r.text(),
    /^degraded: waiting for camera url rtsp:\/\/cam\.local\/1, retry in 4 s \(connection refused\); labels come from audio alone, broker connected/,
  );
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const m = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
  assert.equal(m.value('avscene_source_up', { source: 'video' }), 0);
  assert.equal(m.value('avscene_source_up', { source: 'audio' }), 1);
});

test('/metrics is Prometheus text: window counter, stage histograms, MQTT and source gauges, bundle info, process metrics', async () => {
  const state = healthyState();
  const { sink, base } = await startSink(state);
  const scrape = async () => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await r.text());
  };
  const first = await scrape();
  assert.equal(first.value('avscene_windows_total'), 0);

  for (let seq = 0; seq < 3; seq++) {
    sink.publishWindow({
      payload: payload(seq, 'park'),
      timings: { features: 12, 'audio:logmel': 30, heads: 2, fusion: 0.1, total: 45 },
    });
    state.windows++;
  }
  state.dropped = 2;
  state.queueDepth = 1;
  state.outputs = { mqttConnected: 0, mqttQueued: 7, mqttOutboxFill: 0.25, mqttDropped: 1, mqttReconnects: 3 };
  const m = await scrape();
  assert.equal(m.types.avscene_windows_total, 'counter');
  assert.equal(m.value('avscene_windows_total'), 3, 'the window counter grows');
  assert.equal(m.value('avscene_windows_dropped_total'), 2);
  assert.equal(m.value('avscene_windows_invalid_total'), 0);
  assert.equal(m.value('avscene_inference_queue_depth'), 1);
  assert.equal(m.value('avscene_mqtt_connected'), 0);
  assert.equal(m.value('avscene_mqtt_queued_windows'), 7);
  assert.equal(m.value('avscene_mqtt_outbox_fill_ratio'), 0.25);
  assert.equal(m.value('avscene_mqtt_dropped_windows_total'), 1);
  assert.equal(
    m.value('avscene_state_dir_writable'),
    1,
    'a daemon that reports nothing about state.dir reads as writable',
  );
  state.outputs = { ...state.outputs, stateDirWritable: 0, stateDirFailedWrites: 4 };
  const failing = await scrape();
  assert.equal(failing.value('avscene_state_dir_writable'), 0);
  assert.equal(failing.value('avscene_state_dir_failed_writes_total'), 4);
  assert.equal(failing.types.avscene_state_dir_failed_writes_total, 'counter');
  assert.equal(m.value('avscene_mqtt_reconnects_total'), 3);
  assert.equal(m.value('avscene_source_up', { source: 'audio' }), 1);
  assert.equal(m.value('avscene_source_up', { source: 'video' }), undefined, 'no video source configured');
  state.videoFrame = false;
  assert.equal((await scrape()).value('avscene_source_up', { source: 'video' }), 0, 'a camera that gave no frame');
  const info = m.samples.find((s) => s.name === 'avscene_bundle_info')!;
  assert.deepEqual(info.labels, { name: MANIFEST.name, version: MANIFEST.version, sha: '0123456789ab' });
  assert.equal(m.types.avscene_stage_duration_seconds, 'histogram');
  for (const stage of ['features', 'audio:logmel', 'heads', 'fusion', 'inference']) {
    assert.equal(m.value('avscene_stage_duration_seconds_count', { stage }), 3, stage);
  }
  assert.equal(m.value('avscene_stage_duration_seconds_bucket', { stage: 'features', le: '0.01' }), 0);
  assert.equal(m.value('avscene_stage_duration_seconds_bucket', { stage: 'features', le: '0.025' }), 3);
  assert.equal(m.value('avscene_window_latency_seconds_count'), 3);
  assert.ok(Math.abs(m.value('avscene_window_latency_seconds_sum')! - 0.126) < 1e-9);
  assert.ok(m.value('process_cpu_seconds_total')! > 0, 'default process metrics');
  assert.ok(m.value('nodejs_heap_size_used_bytes')! > 0);
});

test('the page and its live feed: the newest window, every class, the last hour as bands', async () => {
  const state = healthyState();
  const { sink, base } = await startSink(state);
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /id="current-label"/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external assets');

  // The feed sends the state on connect and again after each window.
  const events: Array<{
    current: { label: string; seq: number } | null;
    timeline: Array<{ label: string }>;
    classes: string[];
  }> = [];
  const req = http.get(`${base}/events`);
  const [res] = await new Promise<[http.IncomingMessage]>((resolve) => req.once('response', (r) => resolve([r])));
  assert.equal(res.headers['content-type'], 'text/event-stream');
  let buffer = '';
  let wake: () => void = () => {};
  res.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const data = buffer
        .slice(0, end)
        .split('\n')
        .find((l) => l.startsWith('data: '));
      buffer = buffer.slice(end + 2);
      if (data) events.push(JSON.parse(data.slice(6)));
      wake();
    }
  });
  const next = (n: number) =>
    new Promise<void>((resolve) => {
      wake = () => events.length >= n && resolve();
      wake();
    });
  await next(1);
  assert.equal(events[0]!.current, null);
  sink.publishWindow({ payload: payload(0, 'park'), timings: {} });
  sink.publishWindow({ payload: payload(1, 'park'), timings: {} });
  sink.publishWindow({ payload: payload(2, 'metro'), timings: {} });
  await next(4);
  const last = events[3]!;
  assert.deepEqual(last.current && { label: last.current.label, seq: last.current.seq }, { label: 'metro', seq: 2 });
  assert.deepEqual(
    last.timeline.map((b) => b.label),
    ['park', 'metro'],
    'equal consecutive labels share one band',
  );
  assert.deepEqual(last.classes, MANIFEST.classes);
  req.destroy();

  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});

test('a port already in use is logged with the fix and the daemon runs on without the endpoint', async () => {
  const { base } = await startSink(healthyState());
  const taken = new URL(base).port;
  const { logger, lines } = memoryLogger();
  const sink = new HttpSink({ listen: `127.0.0.1:${taken}`, deviceId: 'kitchen', version: '9.9.9' }, MODEL, logger);
  await sink.start(new AbortController().signal, healthyState);
  assert.equal(sink.address, '');
  assert.match(
    lines.find((l) => l.level === 50)!.msg,
    new RegExp(
      `http.listen: cannot listen on 127.0.0.1:${taken}: the port is in use .*choose another http.listen, or "" to turn the endpoint off; avscene runs on without it`,
    ),
  );
  sink.publishWindow({ payload: payload(0, 'park'), timings: {} });
  await sink.close();
});
