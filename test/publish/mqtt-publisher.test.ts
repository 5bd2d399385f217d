/**
 * The MQTT publisher against real brokers: mosquitto (TLS and mutual TLS with certificates made by openssl here,
 * passwords, MQTT 5) and aedes, whose acknowledgements the first test holds back to play a slow or dead link.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import { createLogger } from '../../src/log/logger.js';
import { memoryLogger } from '../capture/support.js';
import { MqttPublisher, REANNOUNCE_DELAY_MS, type PublisherOptions } from '../../src/publish/mqtt-publisher.js';
import { Outbox } from '../../src/publish/outbox.js';
import type { ScenePayload } from '../../src/publish/payload.js';
import { makePki } from '../helpers/certs.js';
import { tempDir } from '../helpers/media.js';
import { freePort, startMosquitto, writePasswordFile } from '../helpers/mosquitto.js';
import { scenePayload } from '../helpers/outbox.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { contractViolation } from '../helpers/message-schemas.js';
import { poll, waitFor } from '../helpers/wait.js';

after(() => Collector.closeAll());
const publishers = new Set<MqttPublisher>();
after(() => Promise.all([...publishers].map((p) => p.close(100))));

function publisher(options: Partial<PublisherOptions> & { url: string }): MqttPublisher {
  const outbox = new Outbox({
    dir: tempDir(),
    maxBytes: 1 << 24,
    maxAgeMs: 3600_000,
    syncIntervalMs: 5000,
    writeAheadAfterMs: 1000,
  });
  const p = new MqttPublisher({
    deviceId: 'dev',
    topicPrefix: 'avscene',
    logger: createLogger('silent'),
    outbox,
    reconnectMaxMs: 400,
    ...options,
  });
  publishers.add(p);
  return p;
}

const seqs = (sub: Collector, topic = 'avscene/dev/window') =>
  sub.on(topic).map((m) => (JSON.parse(m.payload) as ScenePayload).seq);

test('after a dropped connection, windows reach the broker in seq order (in flight, then queued, then new)', async () => {
  // 'hold': the broker never acknowledges (a link that died silently); 'slow': each acknowledgement takes 150 ms.
  let acks: 'now' | 'hold' | 'slow' = 'now';
  const broker = await Aedes.createBroker({
    authorizePublish: (client: Client | null, packet, callback) => {
      if (client?.id.startsWith('avscene-') !== true || acks === 'now' || !packet.topic.endsWith('/window'))
        return callback(null);
      if (acks === 'slow') setTimeout(() => callback(null), 150);
    },
  });
  const server = net.createServer(broker.handle).listen(await freePort(), '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const pub = publisher({ url });
  const sub = await Collector.subscribe(url, 'avscene/dev/window');
  try {
    await waitFor(() => pub.connected, 5000, 'the first connection');
    acks = 'hold';
    pub.publishWindow(scenePayload(0));
    pub.publishWindow(scenePayload(1));
    await waitFor(() => pub.stats().queued === 2, 1000, 'two windows in flight');
    for (const client of Object.values((broker as unknown as { clients: Record<string, Client> }).clients)) {
      if (client.id.startsWith('avscene-')) client.close();
    }
    await waitFor(() => !pub.connected, 5000, 'the publisher to notice the lost connection');
    pub.publishWindow(scenePayload(2)); // queued while the broker is unreachable
    acks = 'slow';
    await waitFor(() => pub.connected, 5000, 'the reconnection');
    pub.publishWindow(scenePayload(3));
    await sub.until((m) => m.length >= 4, 10_000, 'four window messages');
    assert.deepEqual(seqs(sub), [0, 1, 2, 3]);
  } finally {
    await pub.close(500);
    await sub.close();
    await new Promise<void>((resolve) => broker.close(() => server.close(() => resolve())));
  }
});

test('backlog goes to `window` only; the retained `scene` is the newest live window, never an older one', async () => {
  const broker = await startMosquitto();
  await broker.stop();
  const pub = publisher({ url: broker.url });
  for (let seq = 0; seq < 50; seq++) pub.publishWindow(scenePayload(seq));
  const back = await startMosquitto(broker.port, broker.dataDir);
  try {
    const sub = await Collector.subscribe(back.url, 'avscene/dev/#');
    await sub.until((m) => m.filter((x) => x.topic.endsWith('/window')).length >= 50, 10_000, '50 windows');
    assert.deepEqual(
      seqs(sub),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.ok(
      sub.on('avscene/dev/window').every((m) => !m.retain),
      'window messages are not retained',
    );
    assert.deepEqual(seqs(sub, 'avscene/dev/scene'), [49], 'only the newest window became the scene');
    await sub.close();
    const late = await Collector.subscribe(back.url, 'avscene/dev/+');
    await late.until(
      (m) => m.some((x) => x.topic.endsWith('/scene')) && m.some((x) => x.topic.endsWith('/label')),
      5000,
      'retained state',
    );
    assert.deepEqual(seqs(late, 'avscene/dev/scene'), [49]);
    assert.deepEqual(late.on('avscene/dev/window'), [], 'no window stays on the broker');
    await late.close();
  } finally {
    await pub.close(500);
    await back.stop();
  }
});

test('TLS: with mqtt.ca the broker certificate is verified; without it, a clear error and retries', async () => {
  const pki = makePki(tempDir());
  const broker = await startMosquitto(undefined, undefined, {
    tls: { ca: pki.ca, ...pki.server, requireClientCertificate: false },
  });
  const untrusted = memoryLogger();
  const bad = publisher({ url: broker.url, logger: untrusted.logger, deviceId: 'untrusting' });
  try {
    await waitFor(
      () => untrusted.lines.filter((l) => /connection attempt failed again/.test(l.msg)).length >= 2,
      10_000,
      'retries',
    );
    const errors = untrusted.lines.filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, `one error line, then quiet retries: ${JSON.stringify(errors)}`);
    assert.match(errors[0]!.msg, /TLS certificate is not trusted .*set mqtt\.ca/);
    await bad.close(100);

    const good = publisher({ url: broker.url, ca: pki.ca });
    const sub = await mqtt.connectAsync(broker.url, { ca: readFileSync(pki.ca), clientId: 'tls-sub' });
    const got = new Promise<string>((resolve) => sub.on('message', (_t, p) => resolve(p.toString())));
    await sub.subscribeAsync('avscene/dev/window', { qos: 1 });
    good.publishWindow(scenePayload(5));
    assert.equal((JSON.parse(await got) as ScenePayload).seq, 5);
    await sub.endAsync();
    await good.close(500);
  } finally {
    await broker.stop();
  }
});

test('mutual TLS: a client certificate from the CA connects; a missing or foreign one gets a clear error and retries', async () => {
  const pki = makePki(tempDir());
  const broker = await startMosquitto(undefined, undefined, {
    tls: { ca: pki.ca, ...pki.server, requireClientCertificate: true },
  });
  try {
    for (const [name, cert] of [
      ['missing', {}],
      ['foreign', pki.stranger],
    ] as const) {
      const log = memoryLogger();
      const pub = publisher({ url: broker.url, ca: pki.ca, ...cert, logger: log.logger, deviceId: `mtls-${name}` });
      await waitFor(
        () => log.lines.filter((l) => /connection attempt failed again/.test(l.msg)).length >= 2,
        10_000,
        `retries (${name})`,
      );
      const errors = log.lines.filter((l) => l.level >= 50);
      assert.equal(errors.length, 1, `${name}: ${JSON.stringify(errors)}`);
      assert.match(errors[0]!.msg, /rejected the TLS client authentication .*set mqtt\.cert and mqtt\.key/, name);
      assert.ok(!pub.connected);
      await pub.close(100);
    }
    const pub = publisher({ url: broker.url, ca: pki.ca, ...pki.client });
    await waitFor(() => pub.connected, 10_000, 'mutual TLS connection');
    await pub.close(500);
  } finally {
    await broker.stop();
  }
});

test('a refused password: one clear error, retries with backoff; fixing it on the broker delivers the backlog', async () => {
  const broker = await startMosquitto(undefined, undefined, {
    users: { field: 'rotated-on-the-broker', history: 'h' },
  });
  const dir = tempDir();
  const passwordFile = path.join(dir, 'mqtt-password');
  writeFileSync(passwordFile, 'old-password\n');
  const log = memoryLogger();
  const pub = publisher({ url: broker.url, username: 'field', passwordFile, logger: log.logger });
  const watcher = await mqtt.connectAsync(broker.url, {
    username: 'history',
    password: 'h',
    clientId: 'pw-watch',
    clean: false,
  });
  await watcher.subscribeAsync('avscene/dev/window', { qos: 1 });
  const received: number[] = [];
  watcher.on('message', (_t, p) => received.push((JSON.parse(p.toString()) as ScenePayload).seq));
  try {
    for (let seq = 0; seq < 5; seq++) pub.publishWindow(scenePayload(seq));
    await waitFor(
      () => log.lines.filter((l) => /connection attempt failed again/.test(l.msg)).length >= 3,
      15_000,
      'three refused attempts',
    );
    const errors = log.lines.filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]!.msg, /refused the credentials .*mqtt\.username and mqtt\.password or mqtt\.passwordFile/);
    assert.ok(!JSON.stringify(log.lines).includes('old-password'), 'the password is never logged');
    assert.deepEqual(received, []);
    // The broker's administrator sets the password the device has: picked up by the next attempt, no restart.
    writePasswordFile(broker.passwordFile, { field: 'old-password', history: 'h' });
    broker.reload();
    await waitFor(() => received.length >= 5, 15_000, 'the backlog after the fix');
    assert.deepEqual(received, [0, 1, 2, 3, 4]);
  } finally {
    await watcher.endAsync();
    await pub.close(500);
    await broker.stop();
  }
});

test('an outage is logged once, then reminders with the queue size; the return is logged with the backlog', async () => {
  const port = await freePort();
  const log = memoryLogger();
  const pub = publisher({ url: `mqtt://127.0.0.1:${port}`, logger: log.logger, reminderMs: 300 });
  for (let seq = 0; seq < 3; seq++) pub.publishWindow(scenePayload(seq));
  await waitFor(() => log.lines.filter((l) => /still unreachable/.test(l.msg)).length >= 2, 5000, 'two reminders');
  const warnings = log.lines.filter((l) => l.level >= 40 && !/still unreachable/.test(l.msg));
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0]!.msg, /unreachable: .*nothing listens there.*kept in the outbox/);
  assert.match(log.lines.find((l) => /still unreachable/.test(l.msg))!.msg, /3 window\(s\) queued, 0 dropped/);
  const broker = await startMosquitto(port);
  try {
    await waitFor(() => pub.stats().queued === 0, 10_000, 'the backlog to leave');
    assert.ok(log.lines.some((l) => /is back: sending 3 queued window/.test(l.msg)));
  } finally {
    await pub.close(500);
    await broker.stop();
  }
});

test('MQTT 5: window messages carry a message expiry; scene stays retained without one', async () => {
  const broker = await startMosquitto();
  const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'v5-sub' });
  const got: Array<{ topic: string; expiry: number | undefined; retain: boolean }> = [];
  sub.on('message', (topic, payload, packet) => {
    assert.equal(contractViolation(topic, payload.toString()), null);
    got.push({ topic, expiry: packet.properties?.messageExpiryInterval, retain: packet.retain });
  });
  await sub.subscribeAsync('avscene/dev/+', { qos: 1 });
  const pub = publisher({ url: broker.url, protocolVersion: '5', windowExpiryS: 3600 });
  try {
    pub.publishWindow(scenePayload(0));
    await waitFor(
      () => got.some((m) => m.topic.endsWith('/window')) && got.some((m) => m.topic.endsWith('/scene')),
      5000,
      'window and scene',
    );
    const window = got.find((m) => m.topic.endsWith('/window'))!;
    assert.ok(window.expiry !== undefined && window.expiry > 3500 && window.expiry <= 3600, `expiry ${window.expiry}`);
    assert.equal(got.find((m) => m.topic.endsWith('/scene'))!.expiry, undefined);
  } finally {
    await sub.endAsync();
    await pub.close(500);
    await broker.stop();
  }
});

test('MQTT 5 with mqtt.retainedExpiryS: the retained scene and label expire, so a vanished device stops showing a label', async () => {
  const broker = await startMosquitto();
  const pub = publisher({ url: broker.url, protocolVersion: '5', retainedExpiryS: 2, deviceId: 'expiring' });
  /** The retained messages a new subscriber gets now, with their expiry. */
  const retained = async () => {
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `late-${Math.random()}` });
    const got = new Map<string, number | undefined>();
    sub.on('message', (topic, _payload, packet) => {
      if (packet.retain) got.set(topic.split('/').at(-1)!, packet.properties?.messageExpiryInterval);
    });
    await sub.subscribeAsync('avscene/expiring/+', { qos: 1 });
    await sub.subscribeAsync('barrier/expiring', { qos: 1 });
    const barrier = new Promise((resolve) => sub.on('message', (topic) => topic === 'barrier/expiring' && resolve(0)));
    await sub.publishAsync('barrier/expiring', 'x', { qos: 1 });
    await barrier;
    await sub.endAsync();
    return got;
  };
  try {
    pub.publishWindow(scenePayload(0));
    const first = await poll(retained, (r) => r.has('scene') && r.has('label'), 5000, 'the retained scene and label');
    for (const topic of ['scene', 'label']) assert.ok(first.get(topic)! <= 2, `${topic} expiry ${first.get(topic)}`);
    assert.equal(first.get('status'), undefined, 'status keeps no expiry (the last will ends it)');
    // No new window (the device vanished without its last will reaching anyone): the scene and label go, status stays.
    const later = await poll(retained, (r) => !r.has('scene'), 10_000, 'the scene to expire', { everyMs: 250 });
    assert.ok(!later.has('label'));
    assert.ok(later.has('status'));
  } finally {
    await pub.close(100);
    await broker.stop();
  }
});

test('MQTT 5: windows the broker refuses (ACL) are retried with backoff, not lost, and reach it in seq order once allowed', async () => {
  const acl = path.join(tempDir('avscene-acl-'), 'acl');
  writeFileSync(acl, 'topic read avscene/#\n'); // anonymous clients may subscribe but not publish
  const broker = await startMosquitto(undefined, undefined, { aclFile: acl });
  const sub = await Collector.subscribe(broker.url, 'avscene/acl/window', 'acl-sub'); // a persistent session
  const log = memoryLogger();
  // Its own device id: publishers of earlier tests still retry their brokers' ports, one of which may be this one.
  const pub = publisher({
    url: broker.url,
    protocolVersion: '5',
    logger: log.logger,
    deviceId: 'acl',
    refusalBackoffMs: 100,
    maxRefusals: 1000,
  });
  let back: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  try {
    await waitFor(() => pub.connected, 10_000, 'the first connection');
    pub.publishWindow(scenePayload(0));
    pub.publishWindow(scenePayload(1));
    const refusals = () => log.lines.filter((l) => /refused window seq/.test(l.msg));
    await waitFor(() => refusals().length === 2, 10_000, 'the broker refusing both windows');
    assert.match(String(refusals()[0]!.reason), /not authori[sz]ed/i, "the broker's reason is logged");
    assert.equal(pub.stats().queued, 2, 'both windows are kept unacknowledged');
    // Retried on the same connection with backoff (100, 200, 400 ms…), logged once per window.
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(refusals().length, 2, 'one line per refused window, not one per retry');
    // The operator fixes the ACL (a broker restart here); the windows go out in order.
    writeFileSync(acl, 'topic readwrite avscene/#\n');
    await broker.stop();
    back = await startMosquitto(broker.port, broker.dataDir, { aclFile: acl });
    await waitFor(() => pub.connected, 20_000, 'the reconnection');
    pub.publishWindow(scenePayload(2));
    await sub.until((m) => m.length >= 3, 20_000, 'three window messages');
    assert.deepEqual(seqs(sub, 'avscene/acl/window'), [0, 1, 2]);
    await waitFor(() => pub.stats().queued === 0, 10_000, 'every window acknowledged');
    assert.equal(pub.stats().refusedDropped, 0);
  } finally {
    await pub.close(500);
    await sub.close();
    await (back ?? broker).stop();
  }
});

test('MQTT 5: a window refused maxRefusals times is dropped, counted apart from the bounds, logged with the reason; queued counts only live windows', async () => {
  const acl = path.join(tempDir('avscene-acl-'), 'acl');
  writeFileSync(acl, 'topic read avscene/#\n');
  const broker = await startMosquitto(undefined, undefined, { aclFile: acl });
  const log = memoryLogger();
  const pub = publisher({
    url: broker.url,
    protocolVersion: '5',
    logger: log.logger,
    deviceId: 'acl2',
    refusalBackoffMs: 50,
    maxRefusals: 3,
  });
  try {
    await waitFor(() => pub.connected, 10_000, 'the first connection');
    for (let seq = 0; seq < 3; seq++) pub.publishWindow(scenePayload(seq));
    await waitFor(() => pub.stats().refusedDropped === 3, 10_000, 'three windows dropped after 3 refusals each');
    assert.equal(pub.stats().queued, 0, 'dropped windows are not counted as queued');
    assert.equal(pub.stats().dropped, 0, 'the bounds dropped nothing');
    const dropped = log.lines.filter((l) => /refused window seq \d+ 3 times/.test(l.msg));
    assert.equal(dropped.length, 3);
    assert.match(String(dropped[0]!.reason), /not authori[sz]ed/i);
    assert.equal(dropped[0]!.level, 50, 'an error: the operator must fix the ACL or quota');
  } finally {
    await pub.close(500);
    await broker.stop();
  }
});

test('Home Assistant coming online gets the discovery configs again, after a random 1-5 s; a storm of births gets one announcement', async () => {
  const broker = await startMosquitto();
  const { logger, lines } = memoryLogger();
  const pub = publisher({ url: broker.url, logger });
  const config = { topic: 'homeassistant/sensor/avscene_dev/scene/config', payload: '{"x":1}' };
  pub.announce([config], { reannounceOn: 'homeassistant/status' });
  const raw = await mqtt.connectAsync(broker.url, { clientId: 'ha' });
  const arrivals: number[] = [];
  raw.on('message', () => arrivals.push(Date.now()));
  try {
    await raw.subscribeAsync(config.topic, { qos: 1 });
    await waitFor(() => arrivals.length === 1, 5000, 'the retained config');
    // 500 births and wills within a moment (a flapping Home Assistant, a bridge replaying its status).
    const start = Date.now();
    for (let i = 0; i < 250; i++) {
      raw.publish('homeassistant/status', 'online', { qos: 1 });
      raw.publish('homeassistant/status', 'offline', { qos: 1 });
    }
    await waitFor(() => arrivals.length === 2, 10_000, 'the config announced again');
    const delay = arrivals[1]! - start;
    assert.ok(
      delay >= REANNOUNCE_DELAY_MS[0] - 50 && delay <= REANNOUNCE_DELAY_MS[1] + 1000,
      `announced after ${delay} ms`,
    );
    // A second announcement would come within the longest wait after the first: none does (an absence needs a bound).
    const quiet = Date.now();
    await waitFor(() => Date.now() - quiet > REANNOUNCE_DELAY_MS[1] + 500, 10_000, 'the longest wait');
    assert.equal(arrivals.length, 2, 'one announcement for 250 births');
    assert.equal(lines.filter((l) => String(l.msg).startsWith('Home Assistant came online')).length, 1);
  } finally {
    await raw.endAsync();
    await pub.close(500);
    await broker.stop();
  }
});
