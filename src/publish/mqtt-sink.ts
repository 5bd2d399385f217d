/**
 * The MQTT output: scene, label, status and health topics (mqtt-publisher.ts), Home Assistant discovery
 * (homeassistant.ts), and the in-process broker when no external one is configured (embedded-broker.ts).
 */
import { packageVersion } from '../config/schema.js';
import type { BundleManifest } from '../inference/index.js';
import type { Logger } from '../log/logger.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { homeAssistantDiscovery } from './homeassistant.js';
import { MqttPublisher } from './mqtt-publisher.js';
import type { HealthSnapshot, SceneSink, WindowResult } from './sink.js';
import { topicsFor, type Topics } from './topics.js';

/** The `mqtt` config section and the device id (the daemon's config object fits it). */
export interface MqttSinkConfig {
  deviceId: string;
  /** Empty: start the embedded broker on 127.0.0.1:embeddedPort. */
  url: string;
  embeddedPort: number;
  topicPrefix: string;
  username: string;
  password: string;
  homeAssistant: boolean;
  discoveryPrefix: string;
}

export class MqttSink implements SceneSink {
  readonly topics: Topics;
  private broker: EmbeddedBroker | null = null;
  private publisher: MqttPublisher | null = null;
  private brokerUrl = '';

  constructor(
    private readonly config: MqttSinkConfig,
    private manifest: BundleManifest,
    private readonly logger: Logger,
  ) {
    this.topics = topicsFor(config.topicPrefix, config.deviceId);
  }

  /** The broker the labels go to (the embedded one's address once started); empty before start(). */
  get url(): string {
    return this.brokerUrl;
  }

  get description(): string {
    return `mqtt ${this.brokerUrl} ${this.config.topicPrefix}/${this.config.deviceId}/{scene,label,status,health}`;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { config, logger } = this;
    this.brokerUrl = config.url || (this.broker = await startEmbeddedBroker(config.embeddedPort, logger)).url;
    this.publisher = await MqttPublisher.connect(
      {
        url: this.brokerUrl,
        deviceId: config.deviceId,
        topicPrefix: config.topicPrefix,
        username: config.username,
        password: config.password,
        logger,
      },
      undefined,
      signal,
    );
    this.announce();
  }

  publishWindow(result: WindowResult): void {
    this.publisher?.publishScene(result.payload);
  }

  publishHealth(snapshot: HealthSnapshot): void {
    this.publisher?.publishHealth(snapshot);
  }

  bundleChanged(manifest: BundleManifest): void {
    this.manifest = manifest;
    this.announce();
  }

  stats(): Record<string, number> {
    return { mqttQueued: this.publisher?.queued ?? 0, mqttDropped: this.publisher?.dropped ?? 0 };
  }

  async close(budgetMs: number): Promise<void> {
    await this.publisher?.close(budgetMs);
    await this.broker?.close();
  }

  /** Retained discovery messages, sent again on every reconnect (a broker may have lost them). */
  private announce(): void {
    if (!this.publisher || !this.config.homeAssistant) return;
    this.publisher.announce(
      homeAssistantDiscovery(this.config.discoveryPrefix, this.config.deviceId, this.topics, this.manifest, packageVersion()),
    );
  }
}
