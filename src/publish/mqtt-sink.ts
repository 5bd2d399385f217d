/**
 * The MQTT output: the durable outbox in `state.dir/mqtt/<device.id>/` (outbox.ts), the scene, window, label, status
 * and health topics (mqtt-publisher.ts), Home Assistant discovery (homeassistant.ts), and the in-process broker when
 * no external one is configured (embedded-broker.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, packageVersion } from '../util/package-info.js';
import type { Logger } from '../log/logger.js';
import { RuntimeFile, runtimeDirFor } from '../state/runtime-file.js';
import type { SeqFloor } from '../state/seq-store.js';
import type { StateDirHealth } from '../state/state-dir-health.js';
import { openStateDir } from '../state/state-dir.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { homeAssistantDiscovery, homeAssistantStatusTopic } from './homeassistant.js';
import { retainedDeviceTopics, retainedUpdate } from './retained-topics.js';
import type { ConnectionSettings } from './mqtt-client-options.js';
import { MqttPublisher } from './mqtt-publisher.js';
import { windowJson } from './payload.js';
import { Outbox, segmentSeqFloor } from './outbox.js';
import type { BadRecord } from './outbox-records.js';
import type { HealthSnapshot, ModelInfo, RunningModel, SceneSink, WindowResult } from './sink.js';
import { topicsFor, type Topics } from './topics.js';

/** The `mqtt` config section, the device id and `state.dir` (the daemon's config object fits it). */
export interface MqttSinkConfig {
  deviceId: string;
  stateDir: string;
  /** Whether state.dir takes writes, shared with the window counter: a write it refuses is reported there, never thrown. */
  storage: StateDirHealth;
  /** Empty: start the embedded broker on 127.0.0.1:embeddedPort. */
  url: string;
  embeddedPort: number;
  topicPrefix: string;
  username: string;
  password: string;
  passwordFile: string;
  clientId: string;
  ca: string;
  cert: string;
  key: string;
  insecure: boolean;
  protocolVersion: string;
  keepaliveS: number;
  reconnectMaxS: number;
  windowExpiryS: number;
  retainedExpiryS: number;
  outbox: { maxMB: number; maxAgeH: number; syncS: number };
  homeAssistant: boolean;
  discoveryPrefix: string;
}

/** Unacknowledged this long while connected: written ahead (a power cut would otherwise lose it). */
const WRITE_AHEAD_AFTER_MS = 1000;

export class MqttSink implements SceneSink {
  readonly topics: Topics;
  private readonly outbox: Outbox;
  private broker: EmbeddedBroker | null = null;
  private publisher: MqttPublisher | null = null;
  private brokerUrl = '';
  private info: RunningModel | null = null;
  private readonly restored: SeqFloor[];

  /** `statusPage`: the status page's URL as other machines reach it, once the HTTP endpoint listens (Home Assistant's `configuration_url`). */
  constructor(
    private readonly config: MqttSinkConfig,
    private bundle: ModelInfo,
    private readonly logger: Logger,
    private readonly statusPage: () => string | undefined = () => undefined,
  ) {
    this.topics = topicsFor(config.topicPrefix, config.deviceId);
    ({ outbox: this.outbox, restored: this.restored } = openOutbox(config, logger));
  }

  /** The broker the labels go to (the embedded one's address once started); empty before start(). */
  get url(): string {
    return this.brokerUrl;
  }

  /**
   * What this output knows of the seqs used (SeqStore's floors): the windows in the outbox, the segments found at start
   * (named after their first seq, so they count even when their records are damaged) and the acknowledged record.
   */
  get seqFloors(): SeqFloor[] {
    return [{ source: 'the outbox', next: this.outbox.lastSeq + 1 }, ...this.restored];
  }

  get description(): string {
    return `mqtt ${this.brokerUrl} ${this.config.topicPrefix}/${this.config.deviceId}/{scene,window,label,status,health}`;
  }

  /** Connects in the background: windows queue in the outbox until the broker answers, capture does not wait. */
  async start(): Promise<void> {
    const { config, logger } = this;
    if (!config.url) this.broker = await startEmbeddedBroker(config.embeddedPort, logger);
    this.brokerUrl = this.broker?.url ?? config.url;
    this.publisher = new MqttPublisher({
      ...connectionSettings(config),
      url: this.brokerUrl,
      topicPrefix: config.topicPrefix,
      outbox: this.outbox,
      logger,
      reconnectMaxMs: Math.max(1, config.reconnectMaxS) * 1000,
      windowExpiryS: config.windowExpiryS,
      retainedExpiryS: config.retainedExpiryS,
    });
    this.announce();
    this.publishInfo();
  }

  publishWindow(result: WindowResult): void {
    if (this.publisher) this.publisher.publishWindow(result.payload);
    else
      this.outbox.push(
        result.payload.seq,
        this.topics.window,
        windowJson(result.payload),
        Date.parse(result.payload.window.start),
        true,
      );
  }

  publishHealth(snapshot: HealthSnapshot): void {
    this.publisher?.publishHealth(snapshot);
  }

  modelChanged(model: RunningModel): void {
    this.info = model;
    // Discovery depends on the name, version and classes only: announced again when one of them changes.
    const changed = !sameModel(model.bundle, this.bundle);
    this.bundle = model.bundle;
    if (changed) this.announce();
    this.publishInfo();
  }

  stats(): Record<string, number> {
    const oldest = this.outbox.oldestCapturedAt;
    return {
      mqttConnected: this.publisher?.connected ? 1 : 0,
      mqttQueued: this.outbox.length,
      mqttDropped: this.outbox.dropped,
      mqttRefusedDropped: this.publisher?.stats().refusedDropped ?? 0,
      mqttOutboxBadRecords: this.outbox.corrupt,
      mqttOutboxPersisting: this.outbox.persisting ? 1 : 0,
      mqttReconnects: this.publisher?.stats().reconnects ?? 0,
      mqttOldestQueuedS: oldest === null ? 0 : Math.max(0, Math.round((Date.now() - oldest) / 1000)),
      mqttOutboxFill: Math.round(this.outbox.fill * 1000) / 1000,
    };
  }

  /** Each step runs even when the one before it threw: the embedded broker is closed whatever the publisher did. */
  async close(budgetMs: number): Promise<void> {
    try {
      if (this.publisher) await this.publisher.close(budgetMs);
      else this.outbox.close();
    } finally {
      await this.broker?.close();
    }
  }

  /** `…/info`, retained and sent again on every connection: what this device runs, for fleet dashboards. */
  private publishInfo(): void {
    const model = this.info;
    if (!this.publisher || !model) return;
    const { bundle: m, sha256, signed, since, lastReload, fallback } = model;
    this.publisher.publishInfo({
      device: this.config.deviceId,
      software: packageVersion(),
      model: { name: m.name, version: m.version, sha256, signed },
      since,
      ...(lastReload ? { lastReload } : {}),
      ...(fallback ? { fallback } : {}),
    });
  }

  /**
   * Home Assistant discovery (retained, sent again on every connection and when Home Assistant comes online), and an
   * empty retained message for every topic published before and not now: entities gone (discovery turned off), and
   * every retained topic of an old device.id or prefix.
   */
  private announce(): void {
    if (!this.publisher) return;
    const { config } = this;
    const current = config.homeAssistant
      ? homeAssistantDiscovery({
          discoveryPrefix: config.discoveryPrefix,
          deviceId: config.deviceId,
          topics: this.topics,
          model: this.bundle,
          softwareVersion: packageVersion(),
          supportUrl: homepage(),
          configurationUrl: this.statusPage(),
        })
      : [];
    const update = retainedUpdate(openStateDir(config.stateDir, 'mqtt'), current, retainedDeviceTopics(this.topics));
    this.publisher.announce(update.messages, {
      ...(config.homeAssistant ? { reannounceOn: homeAssistantStatusTopic(config.discoveryPrefix) } : {}),
      // Best-effort: a full or read-only state.dir only means the next start announces (and clears) again.
      onDelivered: () => config.storage.attempt('Home Assistant discovery memory', update.commit),
    });
  }
}

function sameModel(a: ModelInfo, b: ModelInfo): boolean {
  return a.name === b.name && a.version === b.version && a.classes.join('\n') === b.classes.join('\n');
}

function openOutbox(config: MqttSinkConfig, logger: Logger): { outbox: Outbox; restored: SeqFloor[] } {
  const dir = openStateDir(config.stateDir, 'mqtt', config.deviceId, 'outbox');
  const runtimeDir = runtimeDirFor(config.stateDir);
  const acked = runtimeDir ? new RuntimeFile(path.join(runtimeDir, `acked-${config.deviceId}`)) : null;
  const restored = [
    { source: 'the outbox segment names', next: segmentSeqFloor(dir) },
    { source: 'the acknowledged record', next: (acked?.previous ?? -1) + 1 },
  ];
  const outbox = new Outbox({
    dir,
    maxBytes: config.outbox.maxMB * 2 ** 20,
    maxAgeMs: config.outbox.maxAgeH * 3600_000,
    syncIntervalMs: config.outbox.syncS * 1000,
    writeAheadAfterMs: WRITE_AHEAD_AFTER_MS,
    acked,
    storage: config.storage,
    logger,
  });
  if (outbox.corrupt > 0) logDamage(dir, outbox.damaged, logger);
  if (outbox.length > 0 || outbox.dropped > 0) {
    logger.info(
      { dir, queued: outbox.length, dropped: outbox.dropped },
      `outbox: ${outbox.length} window(s) from before the restart are sent first${outbox.dropped ? `; ${outbox.dropped} older than the bounds dropped` : ''}`,
    );
  }
  return { outbox, restored };
}

/** Once at start: how many records were skipped, and where (the first few), without guessing the cause. */
function logDamage(dir: string, damaged: readonly BadRecord[], logger: Logger): void {
  const where = damaged.slice(0, 5).map((d) => `${path.basename(d.file)}@${d.offset}${d.cut ? ' (cut short)' : ''}`);
  logger.warn(
    { dir, records: damaged.length, where },
    `outbox: skipped ${damaged.length} damaged record(s) (checksum or format; a record cut short by a failed write or a power cut, or a storage fault): ${where.join(', ')}${damaged.length > 5 ? ', …' : ''}; every intact record is kept; counted in mqttOutboxBadRecords`,
  );
}

function connectionSettings(config: MqttSinkConfig): ConnectionSettings {
  return {
    deviceId: config.deviceId,
    clientId: config.clientId,
    username: config.username,
    password: config.password,
    passwordFile: config.passwordFile,
    ca: config.ca,
    cert: config.cert,
    key: config.key,
    insecure: config.insecure,
    protocolVersion: config.protocolVersion,
    keepaliveS: config.keepaliveS,
  };
}

function homepage(): string | undefined {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { homepage?: string }).homepage;
}
