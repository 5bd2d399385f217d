/**
 * The daemon: capture → (bounded queue) → features + inference + fusion → publish, wired once at start-up.
 * Capture and inference run as two concurrent loops so window n+1 is captured while window n is classified.
 */
import type { AudioSource, AudioWindow, VideoSource, WindowFrame } from '../capture/types.js';
import type { Bundle, SceneEngine } from '../inference/index.js';
import type { Logger } from '../log/logger.js';
import type { BundleFallback, ReloadResult, RunningModel, SceneSink } from '../publish/sink.js';
import { BundleSwapper, type SwapSettings } from './bundle-swap.js';
import { sources, type LiveState } from '../ops/live-state.js';
import { HealthCounters } from './health.js';
import { InvalidWindowError, type SceneLabeler } from '../pipeline/scene-labeler.js';
import { WindowQueue } from '../capture/window-queue.js';
import { EXIT_FAILURE, EXIT_OK } from '../util/exit-codes.js';

/** What the outputs are told about a bundle: the few manifest fields they report, not the manifest itself. */
export function runningModel(bundle: Pick<Bundle, 'manifest' | 'sha256' | 'signed'>, since: string): RunningModel {
  const { name, version, classes } = bundle.manifest;
  return { bundle: { name, version, classes }, sha256: bundle.sha256, signed: bundle.signed, since };
}

/** What the daemon runs; built from the configuration by createDaemonParts() (factory.ts), or by a test. */
export interface DaemonParts {
  audio: AudioSource;
  /** null: audio only. Started by the daemon. */
  video: VideoSource | null;
  /** Turns a window (+ frame) into its message; throws InvalidWindowError for a window that must be skipped. */
  labeler: Pick<SceneLabeler, 'label' | 'swap' | 'bundle'>;
  /** The inference engine behind the labeler, closed at shutdown. */
  engine: Pick<SceneEngine, 'close'>;
  /** Model bundle name and version, for the start-up log. */
  model: string;
  /** Set when model.bundle could not be used at start and an older installed bundle runs instead (factory.ts). */
  fallback?: BundleFallback;
  /** Every output; each gets every window and health report. */
  sinks: SceneSink[];
  /** Where `seq` is kept across restarts (SeqStore): closed last, so the next start continues exactly. */
  windowCounter?: { close(): void };
  /** Whether state.dir takes writes (StateDirHealth): its counters join the outputs' in health, readiness and metrics. */
  stateDir?: { stats(): Record<string, number>; close(): void };
}

export interface DaemonOptions {
  deviceId: string;
  /** Windows waiting for inference at most (inference.queue). */
  queueDepth: number;
  logger: Logger;
  /** Where reload() finds the next bundle (model.bundle and how to open it); absent: reload() only says it cannot. */
  swap?: SwapSettings;
}

interface Captured {
  window: AudioWindow;
  /** Asked for as soon as the window arrives, awaited by inference: a slow camera never holds up capture. */
  frame: Promise<WindowFrame | null>;
  receivedAt: number;
}

/** Whatever happens, shutdown completes within this budget (systemd's TimeoutStopSec is larger). */
export const SHUTDOWN_BUDGET_MS = 5000;
/** Of the shutdown budget, what the outputs get to deliver what they hold; the rest is for the sources and the engine. */
const SINK_CLOSE_BUDGET_MS = 3000;
const HEALTH_INTERVAL_MS = 60_000;

export class Daemon {
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly health = new HealthCounters();
  private stopping = false;
  /** The engine labelling now: the parts' one until a bundle swap replaces it. */
  private engine: Pick<SceneEngine, 'close'>;
  private model: RunningModel;
  private readonly swapper: BundleSwapper | null;
  /** Engines swapped out, closing once their last window is done. */
  private readonly retired: Array<Promise<void>> = [];
  private queue: WindowQueue<Captured> | null = null;
  private startedAt: number | null = null;
  private lastWindowAt: number | null = null;
  private lastWindowHadFrame = false;
  /** SIGHUPs received, numbered from 1: a reload's outcome names the newest request it answers. */
  private reloadRequests = 0;

  constructor(
    private readonly parts: DaemonParts,
    private readonly options: DaemonOptions,
  ) {
    this.logger = options.logger;
    this.engine = parts.engine;
    this.model = {
      ...runningModel(parts.labeler.bundle, new Date().toISOString()),
      ...(parts.fallback ? { fallback: parts.fallback } : {}),
    };
    this.swapper = options.swap
      ? new BundleSwapper(
          options.swap,
          () => parts.labeler.bundle,
          this.logger,
          (request, err) => (err ? this.reloadRefused(err, request) : this.reloaded(request, 'unchanged')),
        )
      : null;
  }

  /**
   * Re-reads model.bundle and prepares it beside the running bundle, off the hot path; the inference loop swaps to it
   * between two windows. A bundle that fails anything keeps the running one (logged, counted, on `…/info`). SIGHUP.
   */
  reload(): void {
    if (this.stopping) return;
    const request = ++this.reloadRequests;
    if (!this.swapper) {
      const reason = 'this daemon was started without hot swap: restart it to load another bundle';
      this.logger.warn(`reload requested, but ${reason}`);
      this.reloaded(request, 'refused', reason);
      return;
    }
    this.logger.info(
      { bundle: this.options.swap!.bundle },
      'reload: preparing the bundle model.bundle names, beside the running one',
    );
    this.swapper.request(request);
    const done = this.swapper.settled();
    for (const sink of this.parts.sinks) sink.reloading?.(done, request);
  }

  /** Opens the video source and the outputs. Throws (with a clear message) when it cannot start. */
  private async start(): Promise<WindowQueue<Captured>> {
    const { audio, video, sinks, model } = this.parts;
    const { logger } = this;
    await audio.check?.();
    if (video) await video.start();
    // In order: the HTTP endpoint listens before the broker is contacted (see createDaemonParts).
    for (const sink of sinks) await sink.start(this.abort.signal, () => this.live());
    for (const sink of sinks) sink.modelChanged(this.model);
    this.healthTimer = setInterval(() => this.publishHealth(), HEALTH_INTERVAL_MS).unref();

    // A live source does not wait for us: past the queue the oldest window goes. A file waits for room instead.
    const queue = new WindowQueue<Captured>(
      this.options.queueDepth, // ≥ 1: the config refuses less, the queue throws on less
      audio.live ? 'drop-oldest' : 'wait',
      (item, dropped) => {
        this.health.dropped = dropped;
        logger.warn(
          { window: item.window.index, dropped },
          'inference falls behind real time: dropped the oldest waiting window (a smaller model bundle or fewer image nets would keep up)',
        );
      },
    );
    logger.info(
      {
        device: this.options.deviceId,
        audio: audio.description,
        video: video?.description ?? 'none',
        bundle: model,
        outputs: sinks.map((sink) => sink.description),
      },
      'avscene running',
    );
    this.queue = queue;
    this.startedAt = Date.now();
    // Ready (systemd's READY=1): the bundle is loaded, the outputs run and the sources are set up; the first window
    // follows within a second, or a microphone that is away is retried (and said so) while the daemon stays up.
    for (const sink of sinks) sink.running?.();
    return queue;
  }

  /**
   * Runs until the audio source ends (files without loop) or stop() is called; resolves to the exit code.
   * `onReady` runs once everything is up and before the first window is captured (e.g. to subscribe a watcher).
   */
  async run(onReady?: () => Promise<void>): Promise<number> {
    let queue: WindowQueue<Captured>;
    try {
      queue = await this.start();
      await onReady?.();
    } catch (err) {
      // What start() opened before failing (the inference worker, a camera, an output's server or connection) would keep the process alive.
      await this.shutdown();
      throw err;
    }
    const { audio, labeler } = this.parts;
    const capture = this.captureLoop(audio, queue).finally(() => queue.close());
    // An inference failure (not a bad window: those are skipped) stops capture too, so the process exits and systemd restarts it.
    const inference = this.inferenceLoop(labeler, queue).catch((err: unknown) => {
      this.abort.abort();
      queue.close(); // a file read as fast as possible may be waiting for room that nobody will make
      throw err;
    });
    const results = await Promise.allSettled([capture, inference]);
    let exitCode = EXIT_OK;
    for (const [stage, result] of [
      ['audio capture', results[0]],
      ['inference', results[1]],
    ] as const) {
      if (result.status === 'rejected') {
        this.logger.error({ err: (result.reason as Error).message }, `${stage} failed`);
        exitCode = EXIT_FAILURE;
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
      const frame = this.parts.video ? this.parts.video.frameFor(window) : Promise.resolve(null);
      await queue.push({ window, frame, receivedAt: Date.now() });
    }
  }

  private async inferenceLoop(labeler: DaemonParts['labeler'], queue: WindowQueue<Captured>): Promise<void> {
    for (let item = await queue.take(); item !== undefined; item = await queue.take()) {
      this.takeOverIfReady(labeler, item.window.index);
      try {
        const frame = await item.frame;
        const message = await labeler.label(item.window, frame, item.receivedAt);
        const { timings, ...payload } = message;
        this.health.recordWindow(payload.latencyMs, payload.degraded);
        this.lastWindowAt = Date.now();
        this.lastWindowHadFrame = frame !== null;
        for (const sink of this.parts.sinks) this.publishTo(sink, { payload, timings });
        // Debug, not info: a line a second in the journal is months of SD-card writes; MQTT carries every label.
        this.logger.debug(
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
        if (discarded > 0)
          this.logger.info({ discarded }, 'windows captured but not yet classified at shutdown were discarded');
      }
    }
  }

  /** A sink must not throw (sink.ts); if one does anyway, the window still reaches the others and labelling goes on. */
  private publishTo(sink: SceneSink, result: Parameters<SceneSink['publishWindow']>[0]): void {
    try {
      sink.publishWindow(result);
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, output: sink.description },
        'an output failed a window; labelling goes on',
      );
    }
  }

  /** Between two windows: a prepared bundle becomes the running one, so the window about to be labelled is its first. */
  private takeOverIfReady(labeler: DaemonParts['labeler'], nextWindow: number): void {
    const next = this.swapper?.take();
    if (!next) return;
    const from = labeler.bundle.manifest;
    const old = labeler.swap(next.engine, next.bundle);
    this.engine = next.engine;
    // The video process preprocesses for the new bundle's image nets from the next frame asked for on.
    this.parts.video?.setPreprocess?.(next.engine.imagePreprocess);
    this.retired.push(
      old
        .close()
        .catch((err: Error) => this.logger.warn({ err: err.message }, "closing the previous bundle's sessions failed")),
    );
    this.health.bundleSwaps++;
    const { manifest, sha256 } = next.bundle;
    const now = new Date().toISOString();
    this.model = { ...runningModel(next.bundle, now), lastReload: { at: now, ok: true } };
    for (const sink of this.parts.sinks) sink.modelChanged(this.model);
    this.reloaded(next.request, 'swapped');
    this.logger.info(
      {
        from: `${from.name} ${from.version}`,
        to: `${manifest.name} ${manifest.version}`,
        sha256,
        window: nextWindow,
        validateMs: Math.round(next.validateMs),
        sessionsMs: Math.round(next.sessionsMs),
        warmUpMs: Math.round(next.warmUpMs),
      },
      `model bundle swapped: ${manifest.name} ${manifest.version} labels from window ${nextWindow} on`,
    );
  }

  private reloadRefused(err: Error, request: number): void {
    this.health.bundleSwapFailures++;
    this.model = { ...this.model, lastReload: { at: new Date().toISOString(), ok: false, error: err.message } };
    for (const sink of this.parts.sinks) sink.modelChanged(this.model);
    this.reloaded(request, 'refused', err.message);
    const running = `${this.model.bundle.name} ${this.model.bundle.version}`;
    this.logger.error({ err: err.message, running }, `reload refused, ${running} keeps labelling: ${err.message}`);
  }

  /** Tells the outputs how a reload ended (`avscene reload --wait` reads it from the daemon record). */
  private reloaded(request: number, outcome: ReloadResult['outcome'], error?: string): void {
    const result: ReloadResult = { request, outcome, ...(error ? { error } : {}), at: new Date().toISOString() };
    for (const sink of this.parts.sinks) sink.reloaded?.(result);
  }

  /** What the operations outputs report (health, readiness, metrics, status page, systemd status). */
  private live(): LiveState {
    const { windows, dropped, invalid, degraded } = this.health;
    const { audio, video } = this.parts;
    const now = Date.now();
    return {
      windows,
      dropped,
      invalid,
      degraded,
      queueDepth: this.queue?.length ?? 0,
      sinceLastWindowMs: this.lastWindowAt === null ? null : now - this.lastWindowAt,
      started: this.startedAt !== null,
      sinceStartMs: this.startedAt === null ? null : now - this.startedAt,
      videoFrame: video ? this.lastWindowHadFrame : null,
      audioSource: audio.condition ? { noun: audio.noun ?? audio.description, condition: audio.condition() } : null,
      videoSource: video?.condition ? { noun: `camera ${video.description}`, condition: video.condition() } : null,
      outputs: this.outputStats(),
    };
  }

  /** Every sink's counters and state.dir's. */
  private outputStats(): Record<string, number> {
    return Object.assign({}, this.parts.stateDir?.stats(), ...this.parts.sinks.map((sink) => sink.stats()));
  }

  private publishHealth(): void {
    const live = sources(this.live());
    const snapshot = {
      ...this.health.snapshot(),
      // 0 while the microphone is away (retried) or windows stall; videoUp only with a camera.
      audioUp: live.audio === 'up' ? 1 : 0,
      ...(live.video === 'none' ? {} : { videoUp: live.video === 'up' ? 1 : 0 }),
      ...this.outputStats(),
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      uptimeS: Math.round(process.uptime()),
    };
    for (const sink of this.parts.sinks) sink.publishHealth(snapshot);
  }

  /** Every step runs even when one before it threw (a full disk, a sink's bug): each is logged and the next goes on. */
  private async shutdown(): Promise<void> {
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
    const left = () => Math.max(100, deadline - Date.now());
    if (this.healthTimer) clearInterval(this.healthTimer);
    const step = async (name: string, run: () => unknown): Promise<void> => {
      try {
        await run();
      } catch (err) {
        this.logger.error({ err: (err as Error).message, step: name }, `shutdown: ${name} failed; going on`);
      }
    };
    await step('health report', () => this.publishHealth());
    const sinkBudget = Math.min(SINK_CLOSE_BUDGET_MS, left());
    await step('outputs', async () => {
      for (const r of await Promise.allSettled(this.parts.sinks.map((sink) => sink.close(sinkBudget))))
        if (r.status === 'rejected') throw r.reason;
    });
    await step('window counter', () => this.parts.windowCounter?.close());
    await step('state.dir', () => this.parts.stateDir?.close());
    await step('bundle swapper', () => this.swapper?.close());
    await Promise.allSettled([this.parts.video?.stop(), this.engine.close(), ...this.retired]);
    this.logger.info({ windows: this.health.windows, dropped: this.health.dropped }, 'avscene stopped');
  }
}
