/**
 * The daemon's Prometheus metrics (prom-client): what an operator graphs and alerts on across a fleet. Counters that
 * other parts already keep (windows, drops, MQTT outbox) are read from them at scrape time, so `/metrics` and the
 * MQTT health report can never disagree; per-stage latencies and the scene (probabilities, confidence, label) are
 * observed once per window. `promtool check metrics` holds for the whole exposition (test/ops/prometheus.test.ts).
 *
 * The device id is a label of `avscene_build_info` only (Prometheus' info-metric convention): dashboards and alerts
 * join it onto any series by `instance` (deploy/grafana/avscene.json), so a renamed device does not split every
 * series' history, and a scrape config's own target labels are not overridden.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunningModel, WindowResult } from '../publish/sink.js';
import { mqttState, sources, stateDirState, type LiveState } from './live-state.js';

/** Seconds; from 1 ms (a head on a GPU) to 10 s (a big image net on a small CPU, far past real time). */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * prom-client's defaults that break Prometheus' naming rules (`promtool check metrics`: gauges must not end in `_total`);
 * the same numbers are in `nodejs_active_{handles,requests,resources}{type}` (sum them in PromQL).
 */
const NONCONFORMING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** The engine's timing keys (features, preprocess, audio:<net>, image:<net>, heads, fusion, total) as `stage` labels. */
function stageLabel(key: string): string {
  return key === 'total' ? 'inference' : key;
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly stages: Histogram<'stage'>;
  private readonly endToEnd: Histogram;
  private readonly bundle: Gauge<'name' | 'version' | 'sha'>;
  private readonly probability: Gauge<'class'>;
  private readonly confidence: Gauge;
  private readonly label: Gauge<'class'>;
  private classes: readonly string[] = [];

  constructor(state: () => LiveState, info: { version: string; deviceId: string }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    for (const name of NONCONFORMING_DEFAULTS) this.registry.removeSingleMetric(name);
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
      'Windows labelled degraded: a modality or net the bundle wants was missing and no fallback head covered it (windows labelled by fallback heads, e.g. audio-only while the camera is down, are not counted).',
      (s) => s.degraded,
    );
    gauge('avscene_inference_queue_depth', 'Windows captured and waiting for inference.', (s) => s.queueDepth);
    new Gauge({
      name: 'avscene_last_window_timestamp_seconds',
      help: 'Unix time the last window went through the pipeline; absent before the first (alert on time() minus it).',
      registers,
      collect() {
        const since = state().sinceLastWindowMs;
        if (since === null) this.reset();
        else this.set((Date.now() - since) / 1000);
      },
    });
    gauge(
      'avscene_state_dir_writable',
      '0 while writes to state.dir fail (full, read-only or failing card): labels go on, windows are not persisted.',
      (s) => (stateDirState(s).writable ? 1 : 0),
    );
    counter(
      'avscene_state_dir_failed_writes_total',
      'Writes to state.dir that failed with ENOSPC, EROFS, EIO or EDQUOT.',
      (s) => stateDirState(s).failedWrites,
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
      'avscene_mqtt_refused_dropped_windows_total',
      'Windows dropped after the MQTT broker refused them (MQTT 5 reason code >= 0x80) too often.',
      (s) => s.outputs.mqttRefusedDropped ?? 0,
    );
    counter(
      'avscene_mqtt_outbox_bad_records_total',
      'Outbox records found damaged at start (checksum or format) and skipped.',
      (s) => s.outputs.mqttOutboxBadRecords ?? 0,
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
    new Gauge({
      name: 'avscene_build_info',
      help: 'Always 1: the avscene version and the device.id of this daemon (join it on instance to name a device).',
      labelNames: ['version', 'device'] as const,
      registers,
    }).set({ version: info.version, device: info.deviceId }, 1);
    this.bundle = new Gauge({
      name: 'avscene_bundle_info',
      help: 'Always 1: the running model bundle (follows reloads).',
      labelNames: ['name', 'version', 'sha'] as const,
      registers,
    });
    // One series per class of the running bundle, set from each window.
    const perClass = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['class'] as const, registers });
    this.probability = perClass(
      'avscene_scene_probability',
      'Probability of each class of the running bundle in the last window (the published probs; smoothed with inference.smoothing).',
    );
    this.confidence = new Gauge({
      name: 'avscene_scene_confidence_ratio',
      help: 'Probability of the published label in the last window (0 when no head could run).',
      registers,
    });
    this.label = perClass(
      'avscene_scene_label',
      'State set: 1 for the class published as the label of the last window, 0 for every other class of the bundle (all 0 while the label is unknown).',
    );
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
  modelChanged({ bundle, sha256 }: RunningModel): void {
    this.bundle.reset();
    this.bundle.set({ name: bundle.name, version: bundle.version, sha: sha256.slice(0, 12) }, 1);
    if (bundle.classes.join('\n') === this.classes.join('\n')) return;
    // Another class list: the old classes' series end here instead of showing their last value forever.
    this.classes = bundle.classes;
    this.probability.reset();
    this.label.reset();
    this.confidence.reset();
  }

  observeWindow({ payload, timings }: WindowResult): void {
    for (const [key, ms] of Object.entries(timings)) this.stages.observe({ stage: stageLabel(key) }, ms / 1000);
    this.endToEnd.observe(payload.latencyMs / 1000);
    for (const [name, p] of Object.entries(payload.probs)) this.probability.set({ class: name }, p);
    for (const name of this.classes) this.label.set({ class: name }, name === payload.label ? 1 : 0);
    this.confidence.set(payload.confidence);
  }

  /** The exposition text and its Content-Type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
