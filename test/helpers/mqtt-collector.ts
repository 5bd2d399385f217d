/** Subscribes with a real MQTT client and records what arrives, for assertions (each checked against the contract). */
import mqtt, { type MqttClient } from 'mqtt';
import { contractViolation } from './message-schemas.js';
import { poll } from './wait.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export class Collector {
  /** Every collector not yet closed: a failed assertion must not leave a client that keeps the test process alive. */
  private static readonly open = new Set<Collector>();
  readonly messages: Received[] = [];
  /** Messages that break schemas/mqtt/: close() fails the test with them. */
  readonly violations: string[] = [];

  static async closeAll(): Promise<void> {
    await Promise.all([...Collector.open].map((c) => c.close()));
  }

  private constructor(private readonly client: MqttClient) {
    Collector.open.add(this);
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
      const violation = contractViolation(topic, payload.toString());
      if (violation) this.violations.push(`${topic}: ${violation}`);
    });
  }

  /** With `sessionId`, the broker keeps the subscription and queues QoS 1 messages while this client is away. */
  static async subscribe(url: string, topic: string, sessionId?: string): Promise<Collector> {
    const client = await mqtt.connectAsync(url, {
      clientId: sessionId ?? `test-${Math.random().toString(16).slice(2)}`,
      clean: sessionId === undefined,
      reconnectPeriod: 200,
    });
    const collector = new Collector(client);
    await client.subscribeAsync(topic, { qos: 1 });
    return collector;
  }

  /**
   * Waits until everything the broker had for this subscription has arrived (retained messages included): publishes an
   * empty message to `topic`, which the subscription must match, and waits for it to come back. Then removes it.
   */
  async barrier(topic: string): Promise<void> {
    const before = this.messages.length;
    await this.client.publishAsync(topic, '', { qos: 1 });
    await this.until((m) => m.slice(before).some((x) => x.topic === topic), 5000, `the barrier on ${topic}`);
    this.messages.splice(
      this.messages.findIndex((x, i) => i >= before && x.topic === topic),
      1,
    );
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Waits until `predicate` holds for the messages so far, failing after `timeoutMs`. */
  async until(predicate: (messages: Received[]) => boolean, timeoutMs = 20_000, what = 'messages'): Promise<void> {
    await poll(() => this.messages, predicate, timeoutMs, what, {
      explain: (m) =>
        `got ${m.length}: ${m
          .slice(-3)
          .map((x) => `${x.topic} ${x.payload.slice(0, 80)}`)
          .join(' | ')}`,
    });
  }

  /** Disconnects; throws if a message received broke the message schemas. */
  async close(): Promise<void> {
    Collector.open.delete(this);
    await this.client.endAsync(true);
    if (this.violations.length > 0)
      throw new Error(`messages break schemas/mqtt/:\n${this.violations.slice(0, 5).join('\n')}`);
  }
}
