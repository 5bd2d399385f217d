/**
 * A hung IP camera: a local TCP server that accepts connections and never sends a byte, configured as an RTSP and
 * as an HTTP stream. OpenCV's open blocks on it for FFmpeg's 30 s timeout; the daemon must not notice beyond the
 * image: windows keep being labelled from audio at real time with none dropped, the status stays online (MQTT
 * keep-alives kept), SIGTERM ends it within 5 s, also during start-up. An audio-only bundle does not open the camera.
 * Real daemon (built CLI), real mosquitto, real fixture image bundle from the toolkit.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli, stopWithin5s, type RunningCli } from '../helpers/cli.js';
import { fixtureBundle, NO_TOOLKIT } from '../inference/fixture-bundles.js';

interface Scene {
  seq: number;
  window: { start: string; end: string };
  modalities: string[];
}

let broker: Mosquitto;
let camera: net.Server;
/** Connections the silent camera accepted (it reads nothing and writes nothing). */
const accepted: net.Socket[] = [];
let cameraPort = 0;

before(async () => {
  broker = await startMosquitto();
  camera = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
  });
  camera.listen(0, '127.0.0.1');
  await once(camera, 'listening');
  cameraPort = (camera.address() as net.AddressInfo).port;
});
after(async () => {
  killAll();
  await Collector.closeAll();
  for (const s of accepted) s.destroy();
  camera.close();
  await broker.stop();
});

function daemon(device: string, bundle: string, url: string): RunningCli {
  killAll(); // a daemon left by a failed test would keep connecting to the camera
  return startCli(
    daemonArgs(
      broker.url,
      device,
      `model.bundle=${bundle}`,
      'audio.loop=true',
      'sources.realtime=true',
      'video.source=url',
      `video.file=${url}`,
      'inference.threads=1',
    ),
  );
}

describe('a camera that accepts the connection and never answers', { skip: NO_TOOLKIT ?? false }, () => {
  for (const scheme of ['rtsp', 'http'] as const) {
    it(`${scheme}: windows are labelled from audio at real time, none dropped, status online, SIGTERM within 5 s`, async () => {
      const device = `hung-${scheme}`;
      const url = `${scheme}://127.0.0.1:${cameraPort}/stream`;
      const sub = await Collector.subscribe(broker.url, `avscene/${device}/#`);
      const before = accepted.length;
      const d = daemon(device, fixtureBundle('av'), url);
      const scenes = () => sub.on(`avscene/${device}/scene`).map((m) => JSON.parse(m.payload) as Scene);
      // Past the 10-s open limit (counted once the video process has loaded OpenCV): the hung process has been killed
      // and a second one started, while windows kept coming.
      await d.untilLog(
        (l) => /is unavailable: it did not open within 10 s/.test(String(l.msg)),
        60_000,
        'the camera given up',
      );
      await sub.until(() => scenes().length >= 14, 40_000, '14 scene messages');
      assert.ok(accepted.length > before, 'the daemon did connect to the camera');
      const got = scenes();
      got.forEach((s, i) => {
        assert.equal(s.seq, i);
        assert.deepEqual(s.modalities, ['audio'], 'labels from audio alone while the camera sends nothing');
        if (i > 0)
          assert.equal(
            Date.parse(s.window.start) - Date.parse(got[i - 1]!.window.start),
            1000,
            `window ${i} follows window ${i - 1} (none dropped)`,
          );
      });
      // Real time: each window is published soon after it ends, never in a burst after a stall.
      const lag = Date.now() - Date.parse(got.at(-1)!.window.end);
      assert.ok(lag < 2500, `the last label is ${lag} ms behind real time`);
      assert.deepEqual(
        sub.on(`avscene/${device}/status`).map((m) => m.payload),
        ['online'],
        'status stays online (keep-alives kept)',
      );
      assert.ok(!d.logs().some((l) => /falls behind/.test(String(l.msg))), 'no window dropped');
      await stopWithin5s(d);
      await sub.until((m) => m.at(-1)?.payload === 'offline', 3000, 'offline');
      await sub.close();
    });
  }

  it('start-up does not wait for a camera that hangs in its open, and SIGTERM meanwhile ends the daemon within 5 s', async () => {
    const device = 'hung-start';
    const sub = await Collector.subscribe(broker.url, `avscene/${device}/scene`);
    const before = accepted.length;
    const t0 = Date.now();
    const d = daemon(device, fixtureBundle('av'), `rtsp://127.0.0.1:${cameraPort}/stream`);
    await sub.until((m) => m.length >= 1, 30_000, 'the first scene message');
    // Labelled while the video process is still stuck opening the camera (it gives up after 10 s).
    assert.ok(accepted.length > before, 'the video process connected to the camera');
    const camera = d.logs().filter((l) => /camera opened|is unavailable/.test(String(l.msg)));
    assert.deepEqual(camera, [], `the camera's open is still pending (${Date.now() - t0} ms after start)`);
    await stopWithin5s(d);
    await sub.close();
  });

  it('a refused camera: labels from audio, /readyz 200 degraded with the reason, avscene_source_up{source="video"} 0', async () => {
    const device = 'refused-camera';
    const closed = net.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as net.AddressInfo).port;
    closed.close(); // nothing listens there now: connections are refused
    const sub = await Collector.subscribe(broker.url, `avscene/${device}/scene`);
    const d = daemon(device, fixtureBundle('av'), `rtsp://127.0.0.1:${port}/stream`);
    const { url } = (await d.untilLog(
      (l) => String(l.msg).startsWith('status page and metrics on'),
      60_000,
      'the endpoint',
    )) as {
      url: string;
    };
    await d.untilLog((l) => /is unavailable/.test(String(l.msg)), 30_000, 'the camera refused');
    await sub.until((m) => m.length >= 2, 30_000, '2 scene messages');
    const r = await fetch(`${url}/readyz`);
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.match(
      text,
      /^degraded: waiting for camera url rtsp:\/\/127\.0\.0\.1:\d+\/stream, retry(ing now| in \d+ s) \(.*\); labels come from audio alone/,
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^avscene_source_up\{source="video"\} 0$/m);
    assert.match(metrics, /^avscene_source_up\{source="audio"\} 1$/m);
    await stopWithin5s(d);
    await sub.close();
  });

  it('an audio-only bundle never opens the camera, says so once, and labels from audio', async () => {
    const device = 'hung-audio-only';
    const sub = await Collector.subscribe(broker.url, `avscene/${device}/scene`);
    const before = accepted.length;
    const d = daemon(device, fixtureBundle('audio'), `rtsp://127.0.0.1:${cameraPort}/stream`);
    await sub.until((m) => m.length >= 3, 30_000, '3 scene messages');
    assert.equal(accepted.length, before, 'no connection to the camera');
    const notice = d
      .logs()
      .filter((l) => /video\.source=url is not opened: model bundle .* uses no image/.test(String(l.msg)));
    assert.equal(notice.length, 1, 'said once');
    for (const m of sub.messages) assert.deepEqual((JSON.parse(m.payload) as Scene).modalities, ['audio']);
    await stopWithin5s(d);
    await sub.close();
  });
});
