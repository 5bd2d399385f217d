/**
 * The daemon's Prometheus metrics (prom-client): what an operator graphs and alerts on across a fleet. Counters that
 * other parts already keep (windows, drops, MQTT outbox) are read from them at scrape time, so `/metrics` and the
 * MQTT health report can never disagree; per-stage latencies are observed once per window.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunningModel } from '../publish/sink.js';
import { mqttState, sources, type LiveState } from './live-state.js';

/** Seconds; from 1 ms (a head on a GPU) to 10 s (a big image net on a small CPU, far past real time). */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The engine's timing keys (features, preprocess, audio:<net>, image:<net>, heads, fusion, total) as `stage` labels. */
function stageLabel(key: string): string {
  return key === 'total' ? 'inference' : key;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly stages: Histogram<'stage'>;
  private readonly endToEnd: Histogram;
  private readonly bundle: Gauge<'name' | 'version' | 'sha'>;

  constructor(state: () => LiveState, version: string) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Each read-through metric copies its value from the live state when scraped.
    const counter = (name: string, help: string, read: (s: LiveState) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(state()));
        },
      });
    const gauge = (name: string, help: string, read: (s: LiveState) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(state()));
        },
      });

    counter('avscene_windows_total', 'Windows classified and handed to the outputs.', (s) => s.windows);
    counter(
      'avscene_windows_dropped_total',
      'Windows dropped because inference fell behind real time.',
      (s) => s.dropped,
    );
    counter(
      'avscene_windows_invalid_total',
      'Windows skipped because their samples were not finite.',
      (s) => s.invalid,
    );
    counter(
      'avscene_windows_degraded_total',
      'Windows classified with less than the bundle was built for (a modality or net missing).',
      (s) => s.degraded,
    );
    gauge('avscene_inference_queue_depth', 'Windows captured and waiting for inference.', (s) => s.queueDepth);
    gauge(
      'avscene_last_window_age_seconds',
      'Seconds since the last window went through the pipeline (-1 before the first).',
      (s) => (s.sinceLastWindowMs === null ? -1 : s.sinceLastWindowMs / 1000),
    );
    gauge('avscene_mqtt_connected', '1 while connected to the MQTT broker.', (s) => (mqttState(s).connected ? 1 : 0));
    gauge(
      'avscene_mqtt_queued_windows',
      'Windows waiting in the MQTT outbox for the broker.',
      (s) => mqttState(s).queued,
    );
    gauge(
      'avscene_mqtt_outbox_fill_ratio',
      'How close the MQTT outbox is to its size or age bound (1: the oldest windows are being dropped).',
      (s) => mqttState(s).fill,
    );
    counter(
      'avscene_mqtt_dropped_windows_total',
      'Windows dropped from the MQTT outbox at its size or age bound while the broker was unreachable.',
      (s) => mqttState(s).dropped,
    );
    counter(
      'avscene_mqtt_reconnects_total',
      'Reconnections to the MQTT broker after a lost connection.',
      (s) => mqttState(s).reconnects,
    );
    new Gauge({
      name: 'avscene_source_up',
      help: '1 while the source delivers (audio: windows flow; video: the last window had a frame).',
      labelNames: ['source'] as const,
      registers,
      collect() {
        const { audio, video } = sources(state());
        this.set({ source: 'audio' }, audio === 'up' ? 1 : 0);
        if (video === 'none') this.remove({ source: 'video' });
        else this.set({ source: 'video' }, video === 'up' ? 1 : 0);
      },
    });
    new Gauge({ name: 'avscene_info', help: 'avscene version.', labelNames: ['version'] as const, registers }).set(
      { version },
      1,
    );
    this.bundle = new Gauge({
      name: 'avscene_bundle_info',
      help: 'The loaded model bundle.',
      labelNames: ['name', 'version', 'sha'] as const,
      registers,
    });
    this.stages = new Histogram({
      name: 'avscene_stage_duration_seconds',
      help: 'Time per window in each stage: features, preprocess, audio:<net>, image:<net> and heads (inside ONNX Runtime), fusion, inference (all of them, wall).',
      labelNames: ['stage'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.endToEnd = new Histogram({
      name: 'avscene_window_latency_seconds',
      help: 'End to end per window: from leaving capture to its label being ready (queueing + features + inference).',
      buckets: STAGE_BUCKETS,
      registers,
    });
  }

  /** `sha`: the first 12 hex digits of the SHA-256 of bundle.json (which pins every ONNX file). */
  modelChanged({ manifest, sha256 }: RunningModel): void {
    this.bundle.reset();
    this.bundle.set({ name: manifest.name, version: manifest.version, sha: sha256.slice(0, 12) }, 1);
  }

  observeWindow(timings: Readonly<Record<string, number>>, latencyMs: number): void {
    for (const [key, ms] of Object.entries(timings)) this.stages.observe({ stage: stageLabel(key) }, ms / 1000);
    this.endToEnd.observe(latencyMs / 1000);
  }

  /** The exposition text and its Content-Type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
