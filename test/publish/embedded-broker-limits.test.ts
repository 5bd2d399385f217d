/**
 * The embedded broker (mqtt.url empty) cannot be used to grow the daemon's memory: it listens on loopback only, closes
 * a connection whose packet is over 1 MiB before buffering it, and keeps at most 16 MiB of retained messages (past
 * that a retained message is delivered but not kept). Real aedes, real mqtt.js clients, real sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import mqtt from 'mqtt';
import pino from 'pino';
import { MAX_PACKET_BYTES, MAX_RETAINED_BYTES, startEmbeddedBroker } from '../../src/publish/embedded-broker.js';
import { packetSizeScanner } from '../../src/publish/mqtt-packet-guard.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });

test('the packet scanner reads MQTT remaining lengths across chunk boundaries', () => {
  const scan = packetSizeScanner(200);
  // PUBLISH of 127 body bytes (1 length byte), then one of 200 (2 length bytes: 0xc8 0x01), split anywhere.
  const small = Buffer.concat([Buffer.from([0x30, 127]), Buffer.alloc(127)]);
  const edge = Buffer.concat([Buffer.from([0x30, 0xc8, 0x01]), Buffer.alloc(200)]);
  const stream = Buffer.concat([small, edge, small]);
  for (let i = 0; i < stream.length; i += 7) assert.equal(scan(stream.subarray(i, i + 7)), true, `at ${i}`);
  assert.equal(scan(Buffer.from([0x30, 0xc9])), true, 'a length not yet complete');
  assert.equal(scan(Buffer.from([0x01])), false, '201 bytes: over');
  assert.equal(
    packetSizeScanner(1 << 30)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])),
    false,
    'a 5-byte length is malformed',
  );
});

test('a packet over 1 MiB closes its connection unread; other clients and smaller messages are unaffected', async () => {
  const broker = await startEmbeddedBroker(0, logger);
  const listener = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  const sender = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  try {
    const received: number[] = [];
    listener.on('message', (_t, payload) => received.push(payload.length));
    await listener.subscribeAsync('big/#');
    let closed = false;
    sender.on('close', () => (closed = true));
    sender.publish('big/1', Buffer.alloc(MAX_PACKET_BYTES + 1));
    await waitFor(() => closed, 10_000, 'the broker closing the connection of the oversized packet');
    const ok = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await ok.publishAsync('big/2', Buffer.alloc(MAX_PACKET_BYTES - 100), { qos: 1 });
    await waitFor(() => received.length === 1, 10_000, 'the message under the limit');
    assert.deepEqual(received, [MAX_PACKET_BYTES - 100]);
    await ok.endAsync();
  } finally {
    await listener.endAsync();
    await sender.endAsync(true);
    await broker.close();
  }
});

test('retained messages are kept up to 16 MiB in all; past that they are delivered but not kept', async () => {
  const broker = await startEmbeddedBroker(0, logger);
  const publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  const size = 900 << 10;
  const fit = Math.floor(MAX_RETAINED_BYTES / size); // 18 fit, the rest do not
  const count = fit + 4;
  /** The size of the retained message a new subscriber of `topic` gets, or null: a marker published after the
   *  subscription arrives after any retained message (the broker sends those first). */
  const retainedOn = async (topic: string): Promise<number | null> => {
    const late = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    try {
      let retained: number | null = null;
      const marker = new Promise<void>((resolve) =>
        late.on('message', (_t, payload, packet) => {
          if (packet.retain) retained = payload.length;
          else if (payload.toString() === 'marker') resolve();
        }),
      );
      await late.subscribeAsync(topic, { qos: 1 });
      await publisher.publishAsync(topic, 'marker', { qos: 1 });
      await marker;
      return retained;
    } finally {
      await late.endAsync();
    }
  };
  try {
    const delivered: number[] = [];
    const live = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    live.on('message', (_t, payload) => delivered.push(payload.length));
    await live.subscribeAsync('ret/#', { qos: 1 });
    for (let i = 0; i < count; i++)
      await publisher.publishAsync(`ret/${i}`, Buffer.alloc(size, i), { qos: 1, retain: true });
    await waitFor(() => delivered.length === count, 10_000, 'every message delivered, kept or not');
    await live.endAsync();
    assert.equal(await retainedOn(`ret/${fit - 1}`), size, 'the last that fits is kept');
    assert.equal(await retainedOn(`ret/${fit}`), null, 'the first over 16 MiB is not kept');
    assert.equal(await retainedOn(`ret/${count - 1}`), null);
    // Replacing a kept one with a smaller one frees room, and an empty payload deletes one.
    await publisher.publishAsync('ret/0', Buffer.alloc(10), { qos: 1, retain: true });
    await publisher.publishAsync('ret/1', Buffer.alloc(0), { qos: 1, retain: true });
    assert.equal(await retainedOn('ret/0'), 10);
    await publisher.publishAsync(`ret/${count}`, Buffer.alloc(size), { qos: 1, retain: true });
    assert.equal(await retainedOn(`ret/${count}`), size, 'the room freed is used again');
  } finally {
    await publisher.endAsync();
    await broker.close();
  }
});

test('it listens on loopback only', async () => {
  const broker = await startEmbeddedBroker(0, logger);
  try {
    const url = new URL(broker.url);
    assert.equal(url.hostname, '127.0.0.1', 'the address the server is bound to');
    // And from another address of this machine, when it has one, nothing answers.
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!external) return;
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(Number(url.port), external.address);
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    assert.ok(refused, `${external.address}:${url.port} answered`);
  } finally {
    await broker.close();
  }
});
