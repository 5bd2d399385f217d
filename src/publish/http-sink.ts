/**
 * The operations HTTP endpoint as an output (`http.listen`): health, readiness, Prometheus metrics and the live status
 * page. Every window updates the page's state and the latency histograms; counters are read from the daemon's live
 * state when asked. A port that is taken does not stop the daemon (labels matter more than the page): it logs the
 * error with the fix and runs without the endpoint.
 */
import os from 'node:os';
import type { Logger } from '../log/logger.js';
import { ListenError, OpsServer } from '../http/server.js';
import { SceneTimeline } from '../http/scene-timeline.js';
import { health, mqttState, notStarted, readiness, sources, type LiveState } from '../ops/live-state.js';
import { DaemonMetrics } from '../ops/metrics.js';
import type { ScenePayload } from './payload.js';
import type { HealthSnapshot, RunningModel, SceneSink, WindowResult } from './sink.js';

export interface HttpSinkConfig {
  /** `host:port`, port 0 = any free port. */
  listen: string;
  /** http.allowedHosts, split. */
  allowedHosts?: readonly string[];
  deviceId: string;
  version: string;
}

export class HttpSink implements SceneSink {
  private readonly metrics: DaemonMetrics;
  private readonly server: OpsServer;
  private readonly timeline = new SceneTimeline();
  private live: () => LiveState = notStarted;
  private current: ScenePayload | null = null;
  private url = '';

  constructor(
    private readonly config: HttpSinkConfig,
    private model: RunningModel,
    private readonly logger: Logger,
  ) {
    this.metrics = new DaemonMetrics(() => this.live(), { version: config.version, deviceId: config.deviceId });
    this.metrics.modelChanged(model);
    this.server = new OpsServer({
      listen: config.listen,
      allowedHosts: config.allowedHosts,
      live: () => this.live(),
      status: () => this.status(),
      metrics: () => this.metrics.scrape(),
      logger,
    });
  }

  get description(): string {
    return this.url
      ? `http ${this.url} (/, /healthz, /readyz, /metrics)`
      : `http off (could not listen on ${this.config.listen})`;
  }

  /** The base URL once listening, else empty. */
  get address(): string {
    return this.url;
  }

  /**
   * The page's URL as another machine reaches it (Home Assistant's `configuration_url`): undefined while it listens
   * on loopback only or not at all; on 0.0.0.0 or :: the first non-internal IPv4 address of this machine.
   */
  get reachableAddress(): string | undefined {
    if (!this.url) return undefined;
    const url = new URL(this.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (/^127\./.test(host) || host === '::1' || host === 'localhost') return undefined;
    if (host === '0.0.0.0' || host === '::') {
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal);
      if (!external) return undefined;
      url.hostname = external.address;
    }
    return url.toString();
  }

  async start(_signal: AbortSignal, live: () => LiveState): Promise<void> {
    this.live = live;
    try {
      this.url = await this.server.start();
    } catch (err) {
      if (!(err instanceof ListenError)) throw err;
      this.logger.error(`${err.message}; avscene runs on without it`);
      return;
    }
    this.logger.info({ url: this.url }, `status page and metrics on ${this.url}/ (/healthz, /readyz, /metrics)`);
  }

  publishWindow(result: WindowResult): void {
    const { payload } = result;
    this.metrics.observeWindow(result);
    this.current = payload;
    this.timeline.add(payload.label, Date.parse(payload.window.start), Date.parse(payload.window.end));
    this.server.push();
  }

  publishHealth(_snapshot: HealthSnapshot): void {
    // Everything in the health report is read live by /metrics and the page.
  }

  modelChanged(model: RunningModel): void {
    this.model = model;
    this.metrics.modelChanged(model);
  }

  stats(): Record<string, number> {
    return {};
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  /** The status page's document (`/status.json`, `/events`). */
  private status(): unknown {
    const s = this.live();
    const now = Date.now();
    const current = this.current;
    return {
      device: this.config.deviceId,
      version: this.config.version,
      now,
      uptimeS: Math.round(process.uptime()),
      bundle: {
        name: this.model.bundle.name,
        version: this.model.bundle.version,
        sha: this.model.sha256.slice(0, 12),
      },
      classes: this.model.bundle.classes,
      current: current && {
        label: current.label,
        confidence: current.confidence,
        probs: current.probs,
        seq: current.seq,
        window: current.window,
        modalities: current.modalities,
        degraded: current.degraded,
        degradedReason: current.degradedReason,
      },
      timeline: this.timeline.recent(now),
      health: health(s),
      ready: readiness(s),
      sinceLastWindowMs: s.sinceLastWindowMs,
      sources: sources(s),
      mqtt: mqttState(s),
      counters: {
        windows: s.windows,
        dropped: s.dropped,
        invalid: s.invalid,
        degraded: s.degraded,
        queueDepth: s.queueDepth,
      },
    };
  }
}
