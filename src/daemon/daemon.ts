/**
 * The daemon: capture → (bounded queue) → features + inference + fusion → publish, wired once at start-up.
 * Capture and inference run as two concurrent loops so window n+1 is captured while window n is classified.
 */
import { createAudioSource, createVideoSource } from '../capture/index.js';
import type { AudioSource, AudioWindow, VideoFrame, VideoSource } from '../capture/types.js';
import type { AvsceneConfig } from '../config/load.js';
import { loadBundle, SceneEngine } from '../inference/index.js';
import type { Logger } from '../log/logger.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../publish/embedded-broker.js';
import { MqttPublisher } from '../publish/mqtt-publisher.js';
import { homeAssistantDiscovery } from '../publish/homeassistant.js';
import { packageVersion } from '../config/schema.js';
import { HealthCounters } from './health.js';
import { InvalidWindowError, SceneLabeler } from './scene-labeler.js';
import { WindowQueue } from '../capture/window-queue.js';

interface Captured {
  window: AudioWindow;
  frame: VideoFrame | null;
  receivedAt: number;
}

/** Whatever happens, shutdown completes within this budget (systemd's TimeoutStopSec is larger). */
export const SHUTDOWN_BUDGET_MS = 5000;
const HEALTH_INTERVAL_MS = 60_000;

export class Daemon {
  private readonly abort = new AbortController();
  private broker: EmbeddedBroker | null = null;
  private publisher: MqttPublisher | null = null;
  private engine: SceneEngine | null = null;
  private video: VideoSource | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly health = new HealthCounters();
  private stopping = false;

  constructor(
    private readonly config: AvsceneConfig,
    private readonly logger: Logger,
  ) {}

  /** Loads the bundle, opens the sources and the broker connection. Throws (with a clear message) when it cannot start. */
  async start(): Promise<{ audio: AudioSource; labeler: SceneLabeler; queue: WindowQueue<Captured>; brokerUrl: string }> {
    const { config, logger } = this;
    const bundle = await loadBundle(config.model.bundle);
    this.engine = await SceneEngine.create(bundle, {
      providers: config.inference.providers,
      threads: config.inference.threads,
      logger,
    });
    const audio = createAudioSource(config, logger);
    this.video = createVideoSource(config, logger);
    if (this.video) await this.video.start();

    const url = config.mqtt.url || (this.broker = await startEmbeddedBroker(config.mqtt.embeddedPort, logger)).url;
    this.publisher = await MqttPublisher.connect({
      url,
      deviceId: config.device.id,
      topicPrefix: config.mqtt.topicPrefix,
      username: config.mqtt.username,
      password: config.mqtt.password,
      logger,
    }, undefined, this.abort.signal);
    if (config.mqtt.homeAssistant) {
      this.publisher.announce(
        homeAssistantDiscovery(config.mqtt.discoveryPrefix, config.device.id, this.publisher.topics, bundle.manifest, packageVersion()),
      );
    }
    this.healthTimer = setInterval(() => this.publishHealth(), HEALTH_INTERVAL_MS).unref();

    const live = config.audio.source === 'alsa' || config.sources.realtime;
    const queue = new WindowQueue<Captured>(Math.max(1, config.inference.queue), live ? 'drop-oldest' : 'wait', (item, dropped) => {
      this.health.dropped = dropped;
      logger.warn(
        { window: item.window.index, dropped },
        'inference falls behind real time: dropped the oldest waiting window (a smaller model bundle or fewer image nets would keep up)',
      );
    });
    const labeler = new SceneLabeler(this.engine, bundle, config.device.id, config.inference.smoothing);
    logger.info(
      {
        device: config.device.id,
        audio: audio.description,
        video: this.video?.description ?? 'none',
        bundle: `${bundle.manifest.name} ${bundle.manifest.version}`,
        topics: this.publisher.topics,
      },
      'avscene running',
    );
    return { audio, labeler, queue, brokerUrl: url };
  }

  /**
   * Runs until the audio source ends (files without loop) or stop() is called; resolves to the exit code.
   * `onReady` runs once everything is up and before the first window is captured (e.g. to subscribe a watcher).
   */
  async run(onReady?: (brokerUrl: string) => Promise<void>): Promise<number> {
    let started: Awaited<ReturnType<Daemon['start']>>;
    try {
      started = await this.start();
      await onReady?.(started.brokerUrl);
    } catch (err) {
      // What start() opened before failing (the inference worker, a camera, the broker) would keep the process alive.
      await this.shutdown();
      throw err;
    }
    const { audio, labeler, queue } = started;
    const capture = this.captureLoop(audio, queue).finally(() => queue.close());
    // An inference failure (not a bad window: those are skipped) stops capture too, so the process exits and systemd restarts it.
    const inference = this.inferenceLoop(labeler, queue).catch((err: unknown) => {
      this.abort.abort();
      queue.close(); // a file read as fast as possible may be waiting for room that nobody will make
      throw err;
    });
    const results = await Promise.allSettled([capture, inference]);
    let exitCode = 0;
    for (const [stage, result] of [['audio capture', results[0]], ['inference', results[1]]] as const) {
      if (result.status === 'rejected') {
        this.logger.error({ err: (result.reason as Error).message }, `${stage} failed`);
        exitCode = 1;
      }
    }
    await this.shutdown();
    return exitCode;
  }

  /** Stops capturing; the window in flight is finished and published, then everything closes (≤ 5 s). */
  stop(signal: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info({ signal }, 'stopping: finishing the window in flight');
    this.abort.abort();
  }

  private async captureLoop(audio: AudioSource, queue: WindowQueue<Captured>): Promise<void> {
    for await (const window of audio.windows(this.abort.signal)) {
      if (this.abort.signal.aborted) break;
      const frame = this.video ? await this.video.frameFor(window) : null;
      await queue.push({ window, frame, receivedAt: Date.now() });
    }
  }

  private async inferenceLoop(labeler: SceneLabeler, queue: WindowQueue<Captured>): Promise<void> {
    for (let item = await queue.take(); item !== undefined; item = await queue.take()) {
      try {
        const message = await labeler.label(item.window, item.frame, item.receivedAt);
        const { timings, ...payload } = message;
        this.publisher!.publishScene(payload);
        this.health.recordWindow(payload.latencyMs, payload.degraded);
        this.logger.info(
          {
            seq: payload.seq,
            label: payload.label,
            confidence: payload.confidence,
            modalities: payload.modalities,
            degraded: payload.degraded || undefined,
            ms: Math.round(timings.total ?? payload.latencyMs),
          },
          `scene ${payload.label} ${(payload.confidence * 100).toFixed(0)}%`,
        );
      } catch (err) {
        if (!(err instanceof InvalidWindowError)) throw err;
        this.health.invalid++;
        this.logger.warn(err.message);
      }
      if (this.stopping) {
        const discarded = queue.clear();
        if (discarded > 0) this.logger.info({ discarded }, 'windows captured but not yet classified at shutdown were discarded');
      }
    }
  }

  private publishHealth(): void {
    this.publisher?.publishHealth({
      ...this.health.snapshot(),
      mqttQueued: this.publisher.queued,
      mqttDropped: this.publisher.dropped,
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      uptimeS: Math.round(process.uptime()),
    });
  }

  private async shutdown(): Promise<void> {
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
    const left = () => Math.max(100, deadline - Date.now());
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.publishHealth();
    await this.publisher?.close(Math.min(3000, left()));
    await Promise.allSettled([this.video?.stop(), this.engine?.close()]);
    await this.broker?.close();
    this.logger.info({ windows: this.health.windows, dropped: this.health.dropped }, 'avscene stopped');
  }
}
