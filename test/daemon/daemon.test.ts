/**
 * The daemon end to end: real WAV/MP4 files through the real capture code, the real demo bundle in onnxruntime, and a
 * real mosquitto broker, checked by a real MQTT subscriber.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { startMosquitto, freePort, type Mosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, sets, startCli, stopWithin5s } from '../helpers/cli.js';
import { mosquittoForThisFile } from '../helpers/file-broker.js';
import { makeVideo, tempDir } from '../helpers/media.js';
import { HAS_SHARED_DATA, NO_SHARED_DATA, REPO_ROOT, SHARED_DATA } from '../helpers/paths.js';

const DEMO_BUNDLE = path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio');
const CLASSES: string[] = (
  JSON.parse(readFileSync(path.join(DEMO_BUNDLE, 'bundle.json'), 'utf8')) as { classes: string[] }
).classes;

const broker = mosquittoForThisFile();

interface Scene {
  seq: number;
  label: string;
  confidence: number;
  probs: Record<string, number>;
  window: { start: string; end: string };
  modalities: string[];
  model: { name: string; version: string };
}

function checkScenes(scenes: Scene[], expected: number): void {
  assert.equal(scenes.length, expected, `one message per 1-s window: expected ${expected}, got ${scenes.length}`);
  scenes.forEach((scene, i) => {
    assert.equal(scene.seq, i, 'seq counts windows without gaps');
    assert.ok(CLASSES.includes(scene.label), `label ${scene.label} is one of the model's classes`);
    assert.deepEqual(Object.keys(scene.probs).sort(), [...CLASSES].sort());
    const sum = Object.values(scene.probs).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to 1 (got ${sum})`);
    assert.equal(scene.confidence, scene.probs[scene.label]);
    assert.equal(Date.parse(scene.window.end) - Date.parse(scene.window.start), 1000);
    assert.deepEqual(scene.model, { name: 'demo-audio', version: scene.model.version });
  });
}

test('publishes one window message per window of the demo clip (44.1 kHz), the newest as retained scene, and exits 0 at its end', async () => {
  const device = 'demo-clip';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  const daemon = startCli(daemonArgs(broker.url, device, 'sources.realtime=false'));
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr() + daemon.stdout().slice(-2000));
  await sub.until((m) => m.filter((x) => x.topic.endsWith('/window')).length >= 10, 10_000, '10 window messages');
  await sub.until((m) => m.some((x) => x.topic.endsWith('/status') && x.payload === 'offline'), 5000, 'status offline');
  const scenes = sub.on(`avscene/${device}/window`).map((m) => JSON.parse(m.payload) as Scene);
  checkScenes(scenes, 10);
  // At the default log level (info) no line a window: a year in the journal of an SD card is start-ups, state changes
  // and errors, not 31 million label lines (MQTT carries every label; log.level=debug shows them).
  const running = daemon.logs().findIndex((l) => l.msg === 'avscene running');
  assert.ok(running >= 0, 'the daemon logged its start');
  assert.deepEqual(
    daemon.logs().filter((l) => typeof l.seq === 'number'),
    [],
    'no log line per window at info',
  );
  assert.ok(
    daemon.logs().length - running <= 5,
    `a few lines while 10 windows went by:\n${daemon
      .logs()
      .slice(running)
      .map((l) => l.msg)
      .join('\n')}`,
  );
  assert.deepEqual(
    scenes.map((s) => s.modalities),
    scenes.map(() => ['audio']),
  );
  // Capture does not wait for the broker: the first windows may be done before it answers, and only the newest of
  // those becomes the (retained) scene; it ends on the last window.
  const live = sub.on(`avscene/${device}/scene`).map((m) => JSON.parse(m.payload) as Scene);
  assert.equal(live.at(-1)!.seq, 9);
  assert.ok(
    live.every((s, i) => i === 0 || s.seq > live[i - 1]!.seq),
    'never an older scene after a newer one',
  );
  const labels = sub.on(`avscene/${device}/label`).map((m) => m.payload);
  assert.deepEqual(
    labels,
    live.map((s) => s.label),
    'the label topic mirrors the scene label',
  );
  const status = sub.on(`avscene/${device}/status`).map((m) => m.payload);
  assert.equal(status[0], 'online');
  assert.equal(status.at(-1), 'offline');
  await sub.close();

  // Home Assistant discovery: a retained sensor config pointing at the scene and status topics.
  const ha = await Collector.subscribe(broker.url, `homeassistant/sensor/avscene_${device}/+/config`);
  await ha.until((m) => m.length >= 2, 5000, 'discovery configs');
  const sensor = JSON.parse(ha.on(`homeassistant/sensor/avscene_${device}/scene/config`)[0]!.payload) as Record<
    string,
    unknown
  >;
  assert.equal(sensor.state_topic, `avscene/${device}/scene`);
  assert.equal(sensor.availability_topic, `avscene/${device}/status`);
  assert.deepEqual(sensor.options, CLASSES);
  await ha.close();

  // A subscriber that arrives later still gets the last state: retained scene, label and status.
  const late = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  await late.until((m) => m.length >= 3, 5000, 'retained messages');
  assert.ok(late.messages.every((m) => m.retain));
  assert.equal((JSON.parse(late.on(`avscene/${device}/scene`)[0]!.payload) as Scene).seq, 9);
  assert.equal(late.on(`avscene/${device}/status`)[0]!.payload, 'offline');
  await late.close();
});

test('a real TAU recording with a video file gives one message per second', {
  skip: HAS_SHARED_DATA ? false : NO_SHARED_DATA,
}, async () => {
  const dir = tempDir();
  const wav = path.join(dir, 'park.wav');
  copyFileSync(path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio', 'park-lyon-1144-44031.wav'), wav);
  const video = makeVideo(path.join(dir, 'park.mp4'), 10);
  const device = 'tau-clip';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/window`);
  const daemon = startCli(
    daemonArgs(
      broker.url,
      device,
      'sources.realtime=false',
      `audio.file=${wav}`,
      'video.source=file',
      `video.file=${video}`,
    ),
  );
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  // TAU clips are 10 s give or take a sample: a last window short of a sample is completed, so 10 windows.
  const windows = 10;
  assert.equal(
    Math.abs(Number(execFileSync('soxi', ['-s', wav], { encoding: 'utf8' })) - 480000),
    1,
    'this clip is one sample off 10 s',
  );
  await sub.until((m) => m.length >= windows, 10_000, `${windows} scene messages`);
  checkScenes(
    sub.messages.map((m) => JSON.parse(m.payload) as Scene),
    windows,
  );
  await sub.close();
});

test('SIGTERM finishes the window in flight, publishes it, discards the windows still waiting, publishes offline and exits within 5 s', async () => {
  const device = 'sigterm';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
  // A looped file read as fast as possible: capture always keeps the inference queue full, so at SIGTERM one window
  // is being classified and others wait behind it.
  const daemon = startCli(
    daemonArgs(broker.url, device, 'audio.loop=true', 'sources.realtime=false', 'inference.queue=4', 'log.level=debug'),
  );
  await sub.until((m) => m.filter((x) => x.topic.endsWith('/window')).length >= 3, 120_000, 'three window messages');
  await stopWithin5s(daemon);
  await sub.until((m) => m.at(-1)?.payload === 'offline', 3000, 'offline');
  const logs = daemon.logs();
  const stopping = logs.findIndex((l) => l.msg === 'stopping: finishing the window in flight');
  assert.ok(stopping >= 0, 'the daemon logged the stop');
  const finished = logs
    .slice(stopping)
    .filter((l) => typeof l.seq === 'number')
    .map((l) => l.seq as number);
  assert.ok(finished.length >= 1, 'the window in flight at SIGTERM was classified after the signal');
  const scenes = sub.on(`avscene/${device}/window`).map((m) => JSON.parse(m.payload) as Scene);
  checkScenes(scenes, scenes.length);
  assert.equal(scenes.at(-1)!.seq, finished.at(-1), 'and published: it is the last window message');
  const discarded = logs.find((l) => l.msg === 'windows captured but not yet classified at shutdown were discarded');
  assert.ok(
    discarded && (discarded.discarded as number) >= 1,
    'the windows waiting behind it were discarded, not classified',
  );
  assert.equal(finished.length, 1, 'nothing but the window in flight is classified after SIGTERM');
  await sub.close();
});

test('kill -9: the broker publishes offline through the last will', async () => {
  const device = 'killed';
  const sub = await Collector.subscribe(broker.url, `avscene/${device}/status`);
  const daemon = startCli(daemonArgs(broker.url, device, 'audio.loop=true'));
  await sub.until((m) => m.some((x) => x.payload === 'online'), 120_000, 'online');
  daemon.child.kill('SIGKILL');
  await daemon.exited;
  await sub.until((m) => m.at(-1)?.payload === 'offline', 10_000, 'offline from the last will');
  await sub.close();
});

test('a broker that is down: labels are queued and every one arrives, in order, once it is back', async () => {
  const first = await startMosquitto();
  const device = 'late-broker';
  // A persistent subscriber session: the broker keeps its subscription across the restart.
  const sub = await Collector.subscribe(first.url, `avscene/${device}/window`, 'late-broker-watcher');
  await first.stop();
  const daemon = startCli(
    daemonArgs(first.url, device, 'sources.realtime=true', 'mqtt.reconnectMaxS=1', 'log.level=debug'),
  );
  let second: Mosquitto | undefined;
  try {
    // Capture does not wait for the broker; it comes back once three windows have been classified (their log lines)
    // while it was down.
    await daemon.until(
      (l) => l.filter((x) => typeof x.seq === 'number').length >= 3,
      120_000,
      'three windows classified while the broker is down',
    );
    const classifiedWhileDown = daemon
      .logs()
      .filter((x) => typeof x.seq === 'number')
      .map((x) => x.seq as number);
    assert.equal(sub.messages.length, 0, 'nothing could be delivered yet');
    second = await startMosquitto(first.port, first.dataDir);
    const { code } = await daemon.exited;
    assert.equal(code, 0, daemon.stderr());
    await sub.until((m) => m.length >= 10, 15_000, '10 window messages');
    const scenes = sub.messages.map((m) => JSON.parse(m.payload) as Scene);
    checkScenes(scenes, 10);
    // The windows classified while nothing was listening arrived: they were held and sent once the broker was back.
    assert.deepEqual(
      scenes.slice(0, classifiedWhileDown.length).map((s) => s.seq),
      classifiedWhileDown,
    );
  } finally {
    await sub.close();
    await second?.stop();
  }
});

test('with mqtt.url empty the daemon starts its embedded broker and --watch shows the labels that crossed it', async () => {
  const port = await freePort();
  const daemon = startCli([
    'run',
    '--watch',
    ...sets(`mqtt.embeddedPort=${port}`, 'sources.realtime=false', 'log.level=debug'),
  ]);
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  const watched = daemon
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('avscene/avscene-demo/scene #'));
  // Every window of the 10-s demo clip, in order, one line each, with the label the daemon logged for it.
  assert.deepEqual(
    watched.map((line) => Number(/ #(\d+) /.exec(line)?.[1])),
    [...Array(10).keys()],
    `watch lines printed:\n${daemon.stdout()}`,
  );
  const logged = daemon.logs().filter((l) => typeof l.seq === 'number');
  watched.forEach((line, i) =>
    assert.ok(line.includes(` ${String(logged[i]!.label)} `), `${line} shows the label ${String(logged[i]!.label)}`),
  );
  assert.ok(daemon.logs().some((l) => String(l.msg).includes('embedded MQTT broker listening')));
});

test('a corrupt model bundle stops start-up with exit 78 and names the file and the fix', async () => {
  const dir = tempDir();
  for (const f of readdirSync(DEMO_BUNDLE)) copyFileSync(path.join(DEMO_BUNDLE, f), path.join(dir, f));
  const head = readdirSync(dir).find((f) => f.startsWith('head-'))!;
  appendFileSync(path.join(dir, head), 'junk');
  const daemon = startCli(daemonArgs(broker.url, 'corrupt', `model.bundle=${dir}`));
  const { code } = await daemon.exited;
  assert.equal(code, 78);
  assert.match(daemon.stderr(), new RegExp(`${head}: SHA-256 .* Re-export the bundle`));
});

test("the embedded broker's port taken ends start-up with exit 78 (a restart would not free it), with the port and the fix", async () => {
  const port = await freePort();
  const taken = net.createServer().listen(port, '127.0.0.1');
  await once(taken, 'listening');
  try {
    const daemon = startCli(['run', '--set', `mqtt.embeddedPort=${port}`]);
    // A hang guard, not a timing check: start-up (loading the bundle) takes over 15 s beside 8 CPU-bound processes.
    const ended = await Promise.race([daemon.exited, new Promise<null>((r) => setTimeout(() => r(null), 120_000))]);
    assert.ok(ended !== null, `the daemon was still running 2 min after failing to start:\n${daemon.stderr()}`);
    assert.equal(ended.code, 78);
    assert.match(daemon.stderr(), new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*mqtt\\.embeddedPort`));
  } finally {
    taken.close();
  }
});

test('SIGTERM while the broker is unreachable (windows piling up in the outbox) exits within 5 s', async () => {
  const daemon = startCli(
    daemonArgs(
      `mqtt://127.0.0.1:${await freePort()}`,
      'sigterm-no-broker',
      'audio.loop=true',
      'sources.realtime=true',
      'log.level=debug',
    ),
  );
  // Running, with its first connection refused and a window classified for the outbox.
  await daemon.until(
    (l) => l.some((x) => /MQTT broker .* unreachable: .*nothing listens there/.test(String(x.msg))),
    120_000,
    'the refused connection',
  );
  await daemon.until((l) => l.some((x) => typeof x.seq === 'number'), 120_000, 'a window classified');
  await stopWithin5s(daemon);
  assert.ok(
    daemon.logs().some((l) => l.msg === 'stopping: finishing the window in flight'),
    'the stop was orderly, not the 5-s forced exit',
  );
});
