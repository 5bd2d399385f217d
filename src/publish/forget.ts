/**
 * `avscene forget ID`: clears a retired device's retained topics (status, info, scene, label, health) and its Home
 * Assistant discovery configs from the broker, with an empty retained message each, so fleet views and Home Assistant
 * stop listing it. It reads what the broker actually holds (whatever entities that device announced) rather than
 * guessing names.
 */
import mqtt from 'mqtt';
import { maskSecrets } from '../config/secrets.js';
import { discoveryNodeId } from './homeassistant.js';
import { accessOptions, type BrokerAccess } from './mqtt-client-options.js';
import { explainConnectError } from './mqtt-errors.js';
import { topicsFor } from './topics.js';

export interface ForgetOptions {
  url: string;
  access: BrokerAccess;
  topicPrefix: string;
  discoveryPrefix: string;
  deviceId: string;
  /** Clear even while the device says `online` (it would publish again). */
  force: boolean;
}

/** A device that still runs: clearing its topics would last until its next message. */
export class DeviceOnlineError extends Error {}

/** Resolves to the topics cleared. */
export async function forgetDevice(options: ForgetOptions): Promise<string[]> {
  const clientId = `avscene-forget-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(options.url, { clientId, reconnectPeriod: 0, ...accessOptions(options.access) });
  } catch (err) {
    const { explanation } = explainConnectError(err as Error & { code?: string | number });
    throw new Error(`cannot connect to the broker at ${maskSecrets(options.url)}: ${explanation}`, { cause: err });
  }
  try {
    const held = new Map<string, string>();
    // The broker sends retained messages when the subscription is made, before anything published after it: a
    // message of our own on a topic only we use marks the end of them.
    const barrier = `${options.topicPrefix}/${options.deviceId}/forget-${clientId}`;
    let done: () => void = () => {};
    const ended = new Promise<void>((resolve) => (done = resolve));
    client.on('message', (topic, payload, packet) => {
      if (topic === barrier) done();
      else if (packet.retain && payload.length > 0) held.set(topic, payload.toString());
    });
    const own = topicsFor(options.topicPrefix, options.deviceId);
    await client.subscribeAsync(
      [
        `${options.topicPrefix}/${options.deviceId}/+`,
        `${options.discoveryPrefix}/+/${discoveryNodeId(options.deviceId)}/+/config`,
      ],
      { qos: 1 },
    );
    await client.subscribeAsync(barrier, { qos: 1 });
    await client.publishAsync(barrier, '', { qos: 1 });
    await Promise.race([
      ended,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the broker did not echo our own message within 10 s')), 10_000).unref(),
      ),
    ]);
    if (held.get(own.status) === 'online' && !options.force) {
      throw new DeviceOnlineError(
        `device ${options.deviceId} says online on ${own.status}: its daemon runs and would publish again; stop it (or change its device.id) first, or use --force`,
      );
    }
    const topics = [...held.keys()].sort();
    for (const topic of topics) await client.publishAsync(topic, '', { qos: 1, retain: true });
    return topics;
  } finally {
    await client.endAsync();
  }
}
