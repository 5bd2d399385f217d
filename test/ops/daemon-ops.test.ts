/**
 * The daemon as systemd and an operator see it, end to end: the real CLI with a microphone (an `arecord` first on PATH
 * that plays the demo clip in real time for a few seconds and then delivers nothing, as a stuck driver would), the
 * demo bundle, a real mosquitto, a real $NOTIFY_SOCKET, the HTTP endpoint scraped over loopback and the status page
 * rendered by Debian's headless Chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { NotifySocket, fields } from '../helpers/notify-socket.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { launchChromium } from '../helpers/chromium.js';
import { poll } from '../helpers/wait.js';

const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');
const AUDIO_SECONDS = 8;

let broker: Mosquitto;
let notify: NotifySocket;
let browser: Browser | undefined;
before(async () => {
  broker = await startMosquitto();
  notify = new NotifySocket();
});
after(async () => {
  killAll();
  await browser?.close();
  await Collector.closeAll();
  notify.close();
  await broker.stop();
});

/** A microphone that delivers AUDIO_SECONDS of the demo clip in real time, then nothing while staying open. */
function stallingMicrophone(): string {
  const dir = path.join(tempDir('avscene-mic-'), 'bin');
  mkdirSync(dir);
  const file = path.join(dir, 'arecord');
  writeFileSync(
    file,
    `#!/bin/sh\nffmpeg -hide_banner -loglevel error -re -i "${DEMO_CLIP}" -t ${AUDIO_SECONDS} -f s16le -acodec pcm_s16le -ar 48000 -ac 2 -\nexec sleep 600\n`,
  );
  chmodSync(file, 0o755);
  return `${dir}:${process.env.PATH}`;
}

/** Polls `read` (an HTTP request) until `done` holds for its value; fails with the last value after `timeoutMs`. */
const until = <T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string) =>
  poll(read, done, timeoutMs, what, { everyMs: 200, explain: (last) => `last: ${JSON.stringify(last)}` });

test('READY once running (before the first window), pings while windows flow and none once capture stalls; metrics, health and the page follow', async () => {
  const device = 'ops-e2e';
  const scenes = await Collector.subscribe(broker.url, `avscene/${device}/scene`);
  const daemon = startCli(
    daemonArgs(broker.url, device, 'audio.source=alsa', 'http.listen=127.0.0.1:0'),
    // Pings every 2 s while a window went through in the last 2 s.
    { PATH: stallingMicrophone(), NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '4000000' },
  );
  const failed = daemon.exited.then(({ code }) => {
    throw new Error(`daemon exited (${code}) during the test: ${daemon.stderr()}${daemon.stdout().slice(-2000)}`);
  });
  const guard = <T>(p: Promise<T>) => Promise.race([p, failed]);

  // READY=1 comes once the bundle is loaded, the outputs started and the microphone set up; then the status line names
  // the scene of the newest window.
  await guard(notify.until((m) => m.some((x) => fields(x).READY === '1'), 90_000, 'READY=1'));
  const ready = fields(notify.messages.find((x) => fields(x).READY === '1')!);
  assert.match(ready.STATUS!, /^running, first window coming · MQTT /, ready.STATUS);
  const scene = /^\S+ \d+% · [1-9]\d* windows, 0 dropped · MQTT connected$/;
  await guard(
    notify.until((m) => m.some((x) => scene.test(fields(x).STATUS ?? '')), 30_000, 'a STATUS with the scene'),
  );

  const base = (
    daemon.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('status page and metrics on')) as {
      url: string;
    }
  ).url;
  const health = async () => {
    const r = await fetch(`${base}/healthz`);
    return { status: r.status, text: await r.text() };
  };
  const windows = async () =>
    parsePrometheus(await (await fetch(`${base}/metrics`)).text()).value('avscene_windows_total') ?? 0;

  assert.equal((await health()).status, 200);
  const first = await windows();
  await guard(until(windows, (n) => n > first, 10_000, 'avscene_windows_total to grow'));
  const pings = () => notify.messages.filter((x) => fields(x).WATCHDOG === '1').length;
  await guard(notify.until(() => pings() >= 2, 15_000, 'two watchdog pings'));

  // The microphone stops delivering (arecord open, no data): the process lives on, its STATUS goes on, the pings stop.
  const lastPing = () => notify.messages.map((x) => fields(x).WATCHDOG).lastIndexOf('1');
  // (Stuck once no window went through for 15 s, as /healthz says; then three status lines without a ping.)
  await guard(notify.until((m) => m.length - 1 - lastPing() >= 3, 45_000, 'three ticks without a ping'));
  assert.ok(notify.messages.slice(lastPing() + 1).every((x) => fields(x).STATUS !== undefined));
  const unhealthy = await guard(until(health, (h) => h.status === 503, 30_000, '/healthz to fail'));
  assert.match(unhealthy.text, /^unavailable: no window for \d+ s \(the audio source or inference is stalled/);
  assert.equal((await fetch(`${base}/readyz`)).status, 503);

  // The page shows the label of the newest window the broker delivered.
  const published = scenes.messages.map((m) => JSON.parse(m.payload) as { seq: number; label: string });
  const newest = published.reduce((a, b) => (b.seq > a.seq ? b : a));
  browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(
    (seq) => document.getElementById('window')?.textContent?.startsWith(`window #${seq} `),
    newest.seq,
    { timeout: 20_000 },
  );
  assert.equal(await page.textContent('#current-label'), newest.label);
  assert.match((await page.textContent('#health-reason')) ?? '', /no window for/);
  await browser.close();
  browser = undefined;

  daemon.child.kill('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  assert.equal(fields(notify.messages.at(-1)!).STOPPING, '1');
});
