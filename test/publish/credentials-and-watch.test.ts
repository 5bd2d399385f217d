/**
 * A broker that wants a user name and password (aedes, the embedded broker, with an authenticate hook): the daemon
 * publishes with mqtt.username/mqtt.password and says clearly when the broker refuses them; `avscene watch` subscribes
 * with the same settings (password file and mutual TLS too, against mosquitto) and prints one line per window.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import { daemonArgs, killAll, sets, startCli } from '../helpers/cli.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { makePki } from '../helpers/certs.js';
import { tempDir } from '../helpers/media.js';
import { poll, waitFor } from '../helpers/wait.js';

const USER = 'field-engineer';
const PASSWORD = 's3cret pass';
let broker: Aedes;
let server: net.Server;
let url = '';
/** `avscene watch` client ids with their subscriptions, as the broker saw them. */
const subscribed = new Map<string, string[]>();

before(async () => {
  broker = await Aedes.createBroker({
    authenticate: (_client: Client, username: string | undefined, password: Buffer | undefined, done) => {
      if (username === USER && password?.toString() === PASSWORD) return done(null, true);
      done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }), false);
    },
  });
  broker.on('subscribe', (subs, client) => {
    if (client.id.startsWith('avscene-watch-'))
      subscribed.set(
        client.id,
        subs.map((s) => s.topic),
      );
  });
  server = net.createServer(broker.handle).listen(await freePort(), '127.0.0.1');
  await once(server, 'listening');
  url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(async () => {
  killAll();
  await new Promise<void>((resolve) => broker.close(() => server.close(() => resolve())));
});

async function retainedScenes(device: string): Promise<Array<{ seq: number }>> {
  const client = await mqtt.connectAsync(url, { username: USER, password: PASSWORD });
  const got: Array<{ seq: number }> = [];
  client.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString()) as { seq: number }));
  await client.subscribeAsync(`avscene/${device}/scene`, { qos: 1 });
  const deadline = Date.now() + 5000;
  while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await client.endAsync();
  return got;
}

test('with the right user name and password the daemon publishes every window', async () => {
  const device = 'with-credentials';
  const daemon = startCli(
    daemonArgs(url, device, 'sources.realtime=false', `mqtt.username=${USER}`, `mqtt.password=${PASSWORD}`),
  );
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  const complaints = daemon.logs().filter((l) => /refused|unreachable/.test(String(l.msg)));
  assert.deepEqual(complaints, [], 'no refusal, nothing left undelivered');
  assert.deepEqual(
    (await retainedScenes(device)).map((s) => s.seq),
    [9],
    'the last window is the retained state',
  );
  assert.ok(!daemon.stdout().includes(PASSWORD), 'the password never appears in the logs');
});

test('a wrong password is named as such, with the settings to check, and windows are kept (not lost) meanwhile', async () => {
  const device = 'wrong-password';
  const daemon = startCli(
    daemonArgs(url, device, 'sources.realtime=false', `mqtt.username=${USER}`, 'mqtt.password=guess'),
  );
  await daemon.until(
    (l) => l.some((x) => /the broker refused the credentials/.test(String(x.msg))),
    120_000,
    'the refusal',
  );
  const { code } = await daemon.exited;
  assert.equal(code, 0, daemon.stderr());
  const refused = daemon.logs().find((l) => /the broker refused the credentials/.test(String(l.msg)))!;
  assert.equal(refused.level, 50, 'an error: the field engineer must act');
  assert.match(String(refused.msg), /check mqtt\.username and mqtt\.password/);
  assert.ok(
    daemon
      .logs()
      .some((l) => /unreachable at shutdown: 10 window\(s\) in time; kept in the outbox/.test(String(l.msg))),
    'all 10 windows are kept for the next start',
  );
  assert.deepEqual(await retainedScenes(device), [], 'nothing was published');
  assert.ok(!daemon.stdout().includes('guess'), 'the password never appears in the logs');
});

test('avscene watch subscribes with the configured credentials and prints one line per window (or the raw JSON)', async () => {
  // Their own topic prefix: the retained messages of the daemon tests above are not theirs to print.
  const settings = sets('mqtt.topicPrefix=watchtest', `mqtt.username=${USER}`, `mqtt.password=${PASSWORD}`);
  const watch = startCli(['watch', '--url', url, '--device', 'watched', ...settings]);
  const json = startCli(['watch', '--url', url, '--json', ...settings]);
  const stderr = () => `watch stderr: ${watch.stderr()} ${json.stderr()}`;
  await waitFor(() => subscribed.size >= 2, 60_000, 'both watchers to subscribe', stderr);
  assert.deepEqual([...subscribed.values()].flat().sort(), ['watchtest/+/scene', 'watchtest/watched/scene']);
  const publisher = await mqtt.connectAsync(url, { username: USER, password: PASSWORD });
  const scene = (seq: number, device: string) =>
    JSON.stringify({
      seq,
      device,
      label: 'park',
      confidence: 0.62,
      probs: { park: 0.62, street: 0.3, bus: 0.08 },
      window: { start: `2026-01-01T10:00:0${seq}.000Z`, end: `2026-01-01T10:00:0${seq + 1}.000Z` },
      modalities: ['audio', 'image'],
      degraded: false,
      model: { name: 'm', version: '1' },
      latencyMs: 5,
    });
  await publisher.publishAsync('watchtest/watched/scene', scene(0, 'watched'), { qos: 1 });
  await publisher.publishAsync('watchtest/other/scene', scene(1, 'other'), { qos: 1 });
  await publisher.publishAsync('watchtest/watched/scene', scene(2, 'watched'), { qos: 1 });
  await waitFor(
    () => watch.stdout().trim().split('\n').length >= 2 && json.stdout().trim().split('\n').length >= 3,
    60_000,
    'the watched lines',
    stderr,
  );
  await publisher.endAsync();
  watch.child.kill('SIGTERM');
  json.child.kill('SIGTERM');
  assert.equal((await watch.exited).code, 0, watch.stderr());
  assert.equal((await json.exited).code, 0, json.stderr());
  assert.deepEqual(watch.stdout().trim().split('\n'), [
    'watchtest/watched/scene #0  10:00:00–10:00:01  park 62%  (next: street 30%)  [audio+image]',
    'watchtest/watched/scene #2  10:00:02–10:00:03  park 62%  (next: street 30%)  [audio+image]',
  ]);
  assert.match(watch.stderr(), /watching watchtest\/watched\/scene on mqtt:\/\/127\.0\.0\.1:\d+/);
  assert.deepEqual(
    json
      .stdout()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { device: string }).device),
    ['watched', 'other', 'watched'],
    '--json: the raw payloads, every device',
  );
});

test("avscene watch with a wrong password fails with the broker's answer instead of waiting forever", async () => {
  // startCli, not runCli: the broker lives in this process and must keep answering while watch runs.
  const watch = startCli(['watch', '--url', url, ...sets(`mqtt.username=${USER}`, 'mqtt.password=guess')]);
  const ended = await Promise.race([watch.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
  assert.ok(ended !== null, `avscene watch was still running 60 s after the broker refused it:\n${watch.stderr()}`);
  assert.equal(ended.code, 1);
  // The broker's answer inside the daemon's explanation of it (the same cause-and-fix line the daemon logs).
  assert.match(
    watch.stderr(),
    /avscene: cannot connect to the broker at .*: the broker refused the credentials \(Connection refused: Bad username or password\): check mqtt\.username/i,
  );
});

test('avscene watch reaches a broker the way the daemon does: mqtt.passwordFile, mqtt.ca, and a client certificate (mqtt.cert, mqtt.key)', async () => {
  const dir = tempDir('avscene-watch-tls-');
  const pki = makePki(dir);
  const broker = await startMosquitto(undefined, undefined, {
    users: { field: 'from-the-file' },
    tls: { ca: pki.ca, ...pki.server, requireClientCertificate: true },
  });
  const passwordFile = path.join(dir, 'mqtt-password');
  writeFileSync(passwordFile, 'from-the-file\n');
  const tls = { ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) };
  const publisher = await mqtt.connectAsync(broker.url, { ...tls, username: 'field', password: 'from-the-file' });
  const watch = startCli([
    'watch',
    '--json',
    ...sets(
      `mqtt.url=${broker.url}`,
      'mqtt.username=field',
      `mqtt.passwordFile=${passwordFile}`,
      `mqtt.ca=${pki.ca}`,
      `mqtt.cert=${pki.client.cert}`,
      `mqtt.key=${pki.client.key}`,
    ),
  ]);
  try {
    await waitFor(
      () => /watching/.test(watch.stderr()) || watch.child.exitCode !== null,
      60_000,
      'watch to start',
      watch.stderr,
    );
    // Published until the watcher shows it: its subscription may come a moment after the banner.
    await poll(
      async () => {
        await publisher.publishAsync('avscene/tls-device/scene', JSON.stringify({ seq: 7 }), { qos: 1 });
        return watch.stdout();
      },
      (out) => out.includes('"seq":7') || watch.child.exitCode !== null,
      60_000,
      'the message through the TLS connection',
      { everyMs: 500 },
    );
    assert.equal(watch.child.exitCode, null, `watch ended: ${watch.stderr()}`);
    watch.child.kill('SIGTERM');
    assert.equal((await watch.exited).code, 0, watch.stderr());
    assert.ok(!watch.stderr().includes('from-the-file'), 'the password from the file is not shown');
  } finally {
    await publisher.endAsync();
    await broker.stop();
  }
});
