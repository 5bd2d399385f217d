/** Subscribes with a real MQTT client and records what arrives, for assertions. */
import mqtt, { type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export class Collector {
  /** Every collector not yet closed: a failed assertion must not leave a client that keeps the test process alive. */
  private static readonly open = new Set<Collector>();
  readonly messages: Received[] = [];

  static async closeAll(): Promise<void> {
    await Promise.all([...Collector.open].map((c) => c.close()));
  }

  private constructor(private readonly client: MqttClient) {
    Collector.open.add(this);
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
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

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Waits until `predicate` holds for the messages so far, failing after `timeoutMs`. */
  async until(predicate: (messages: Received[]) => boolean, timeoutMs = 20_000, what = 'messages'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got ${this.messages.length}: ${this.messages.slice(-3).map((m) => `${m.topic} ${m.payload.slice(0, 80)}`).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    Collector.open.delete(this);
    await this.client.endAsync(true);
  }
}
