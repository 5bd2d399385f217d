/**
 * The MQTT publisher against a real broker (aedes, the embedded broker of `mqtt.url` empty), whose acknowledgements
 * the test holds back to play a slow or dead link.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Aedes, type Client } from 'aedes';
import { createLogger } from '../../src/log/logger.js';
import { MqttPublisher } from '../../src/publish/mqtt-publisher.js';
import type { ScenePayload } from '../../src/publish/payload.js';
import { freePort } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';

const logger = createLogger('silent');
after(() => Collector.closeAll());

function scene(seq: number): ScenePayload {
  return {
    label: 'park', confidence: 1, probs: { park: 1 }, seq, device: 'dev',
    window: { start: new Date(seq * 1000).toISOString(), end: new Date(seq * 1000 + 1000).toISOString() },
    modalities: ['audio'], degraded: false, model: { name: 'm', version: '1' }, latencyMs: 1,
  };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

test('after a dropped connection, labels reach the broker in window order (in flight, then queued, then new)', async () => {
  // 'hold': the broker never acknowledges (a link that died silently); 'slow': each acknowledgement takes 150 ms.
  let acks: 'now' | 'hold' | 'slow' = 'now';
  const broker = await Aedes.createBroker({
    authorizePublish: (client: Client | null, packet, callback) => {
      if (client?.id.startsWith('avscene-') !== true || acks === 'now' || packet.topic.endsWith('/status')) return callback(null);
      if (acks === 'slow') setTimeout(() => callback(null), 150);
    },
  });
  const server = net.createServer(broker.handle).listen(await freePort(), '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const publisher = await MqttPublisher.connect({ url, deviceId: 'dev', topicPrefix: 'avscene', logger });
  const sub = await Collector.subscribe(url, 'avscene/dev/scene');
  try {
    acks = 'hold';
    publisher.publishScene(scene(0));
    publisher.publishScene(scene(1));
    await delay(200); // both in flight, unacknowledged
    for (const client of Object.values((broker as unknown as { clients: Record<string, Client> }).clients)) {
      if (client.id.startsWith('avscene-')) client.close();
    }
    await waitFor(() => !publisher.connected, 5000, 'the publisher to notice the lost connection');
    publisher.publishScene(scene(2)); // queued while the broker is unreachable
    acks = 'slow';
    // The client reconnects (2 s) and first re-sends what was in flight; a window finished meanwhile comes after the queue.
    await waitFor(() => publisher.connected, 5000, 'the reconnection');
    publisher.publishScene(scene(3));
    await sub.until((m) => m.length >= 4, 10_000, 'four scene messages');
    assert.deepEqual(sub.messages.map((m) => (JSON.parse(m.payload) as ScenePayload).seq), [0, 1, 2, 3]);
  } finally {
    await publisher.close(500);
    await sub.close();
    await new Promise<void>((resolve) => broker.close(() => server.close(() => resolve())));
  }
});

test('the outbox keeps an hour of windows while the broker is down', async () => {
  const publisher = await MqttPublisher.connect({ url: `mqtt://127.0.0.1:${await freePort()}`, deviceId: 'dev', topicPrefix: 'avscene', logger }, 50);
  try {
    for (let seq = 0; seq < 3600; seq++) publisher.publishScene(scene(seq));
    for (let minute = 0; minute < 60; minute++) publisher.publishHealth({ windows: minute * 60 });
    assert.equal(publisher.dropped, 0, 'no label of the last hour is dropped');
    assert.equal(publisher.queued, 2 * 3600 + 60);
  } finally {
    await publisher.close(100);
  }
});
