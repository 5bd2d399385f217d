/**
 * Publishes scene labels over MQTT. Never blocks the pipeline: while the broker is unreachable, labels wait in a
 * bounded outbox (oldest dropped and counted past `queueLimit`) and are sent in order on reconnect; the retained
 * `status` topic says `online`, and the broker publishes `offline` for us through the last will if we die.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../log/logger.js';
import { topicsFor, type Topics } from './topics.js';
import type { ScenePayload } from './payload.js';

export interface PublisherOptions {
  url: string;
  deviceId: string;
  topicPrefix: string;
  username?: string;
  password?: string;
  /** Labels kept while the broker is down; past it the oldest are dropped and counted. */
  queueLimit?: number;
  logger: Logger;
}

interface Outgoing {
  topic: string;
  payload: string;
}

export class MqttPublisher {
  readonly topics: Topics;
  private readonly client: MqttClient;
  private readonly outbox: Outgoing[] = [];
  private readonly queueLimit: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private droppedWhileOffline = 0;
  private announcements: Outgoing[] = [];
  private everConnected = false;
  private wasConnected = false;
  /**
   * Between our 'connect' handler and the next 'close'. mqtt.js already says `connected` while it re-sends the
   * messages that were in flight when the connection dropped; publishing then would overtake the outbox.
   */
  private ready = false;
  private closing = false;

  private constructor(private readonly options: PublisherOptions) {
    this.topics = topicsFor(options.topicPrefix, options.deviceId);
    // An hour of windows (a scene and a label message each) and of health reports.
    this.queueLimit = options.queueLimit ?? 2 * 3600 + 60;
    this.client = mqtt.connect(options.url, {
      clientId: `avscene-${options.deviceId}-${process.pid}`,
      // MQTT 3.1.1: every broker speaks it (the embedded aedes broker has no MQTT 5).
      protocolVersion: 4,
      username: options.username || undefined,
      password: options.password || undefined,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.onClose());
    this.client.on('error', (err) => this.onError(err));
  }

  /** Connects (or keeps retrying in the background when the broker is down: labels queue meanwhile). */
  static async connect(options: PublisherOptions, firstConnectTimeoutMs = 5000, signal?: AbortSignal): Promise<MqttPublisher> {
    const publisher = new MqttPublisher(options);
    await publisher.waitConnected(firstConnectTimeoutMs, signal);
    return publisher;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  get queued(): number {
    return this.outbox.length;
  }

  get dropped(): number {
    return this.droppedWhileOffline;
  }

  publishScene(payload: ScenePayload): void {
    this.send({ topic: this.topics.scene, payload: JSON.stringify(payload) });
    this.send({ topic: this.topics.label, payload: payload.label });
  }

  /** Retained messages sent again on every (re)connect, e.g. Home Assistant discovery (a broker may have lost them). */
  announce(messages: Array<{ topic: string; payload: string }>): void {
    this.announcements = messages;
    if (this.ready) for (const message of messages) this.send(message);
  }

  publishHealth(health: Record<string, unknown>): void {
    this.send({ topic: this.topics.health, payload: JSON.stringify(health) });
  }

  /** Publishes `offline`, waits (bounded) for queued labels to leave, and disconnects. */
  async close(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.closing = true;
    if (this.ready) {
      this.send({ topic: this.topics.status, payload: 'offline' });
      await withTimeout(Promise.allSettled([...this.inFlight]), Math.max(0, deadline - Date.now()));
    }
    if (this.outbox.length > 0) {
      this.options.logger.warn(
        { queued: this.outbox.length },
        `MQTT broker ${this.options.url} unreachable at shutdown: ${this.outbox.length} queued message(s) (labels, health) not delivered`,
      );
    }
    await withTimeout(this.client.endAsync(this.outbox.length > 0), Math.max(100, deadline - Date.now()));
  }

  private send(message: Outgoing): void {
    if (!this.ready) {
      this.enqueue(message);
      return;
    }
    const sent = this.client
      .publishAsync(message.topic, message.payload, { qos: 1, retain: true })
      .catch((err: Error) => {
        this.options.logger.warn({ err: err.message, topic: message.topic }, 'MQTT publish failed; will retry on reconnect');
        this.enqueue(message);
      })
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  private enqueue(message: Outgoing): void {
    this.outbox.push(message);
    if (this.outbox.length > this.queueLimit) {
      this.outbox.shift();
      this.droppedWhileOffline++;
      if (this.droppedWhileOffline === 1 || this.droppedWhileOffline % 100 === 0) {
        this.options.logger.warn(
          { dropped: this.droppedWhileOffline, queueLimit: this.queueLimit },
          'MQTT outbox full while the broker is unreachable: dropping the oldest labels',
        );
      }
    }
  }

  private onConnect(): void {
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.wasConnected = true;
    this.ready = true;
    this.options.logger.info({ url: this.options.url, queued: this.outbox.length }, reconnect ? 'MQTT reconnected' : 'MQTT connected');
    for (const message of this.announcements) this.send(message);
    this.send({ topic: this.topics.status, payload: 'online' });
    const pending = this.outbox.splice(0);
    for (const message of pending) this.send(message);
  }

  private onClose(): void {
    this.ready = false;
    if (this.wasConnected && !this.closing) {
      this.wasConnected = false;
      this.options.logger.warn(
        { url: this.options.url },
        'MQTT connection lost; labels are queued and sent when the broker is back (retrying every 2 s)',
      );
    }
  }

  private onError(err: Error & { code?: string | number }): void {
    const hint =
      err.code === 'ECONNREFUSED'
        ? 'nothing listens there: is the broker running, and are mqtt.url host and port right?'
        : err.code === 'ENOTFOUND'
          ? 'host name not found: check mqtt.url'
          : err.code === 4 || err.code === 5 || /not authorized|bad user/i.test(err.message)
            ? 'the broker refused the credentials: check mqtt.username and mqtt.password'
            : 'check mqtt.url and that the broker is reachable';
    this.options.logger.warn({ url: this.options.url, err: err.message }, `MQTT error: ${hint}`);
  }

  private async waitConnected(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.client.connected || signal?.aborted) return;
    const connected = await withTimeout(
      new Promise<boolean>((resolve) => {
        this.client.once('connect', () => resolve(true));
        // A stop requested meanwhile (SIGTERM) does not wait for the broker: the whole shutdown has 5 s.
        signal?.addEventListener('abort', () => resolve(false), { once: true });
      }),
      timeoutMs,
    );
    if (!connected && !signal?.aborted) {
      this.options.logger.warn(
        { url: this.options.url },
        `MQTT broker not reachable within ${timeoutMs / 1000} s; starting anyway — labels are queued until it is back`,
      );
    }
  }
}

/** Resolves to the promise's value, or undefined once `ms` have passed. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
