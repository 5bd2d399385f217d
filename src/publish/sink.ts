/**
 * Where the daemon's results go. The daemon talks to its outputs only through this interface, so MQTT, an HTTP
 * metrics endpoint or a second transport are each one implementation, and the daemon never names a transport.
 *
 * To add a sink:
 *  1. implement `SceneSink` in one file under src/publish/ (see mqtt-sink.ts for the reference implementation);
 *  2. build it in `createDaemonParts()` (src/daemon/factory.ts), from its own config section, and add it to `sinks`;
 *  3. test it on its real transport (a real broker, a real HTTP client), not through the daemon.
 *
 * Contract, so that one slow or broken output never stalls the pipeline or loses another output's labels:
 *  - `publishWindow`, `publishHealth` and `modelChanged` return at once and never throw: a sink that cannot deliver
 *    now queues (bounded) or drops, and counts what it dropped in `stats()`.
 *  - They may be called before `start()` has resolved or after it failed (the daemon then shuts down): ignore or queue.
 *  - `close(budgetMs)` resolves within the budget whatever the transport does, and reports what it could not deliver.
 */
import type { LiveState } from '../ops/live-state.js';
import type { ScenePayload } from './payload.js';

/**
 * What an output tells about a model bundle (info, discovery, metrics, status page): the daemon builds it from the
 * bundle's manifest, so publish/ never depends on inference/.
 */
export interface ModelInfo {
  name: string;
  version: string;
  classes: readonly string[];
}

/** What the device runs (`<prefix>/<id>/info`): given at start, after every bundle swap and after a refused reload. */
export interface RunningModel {
  bundle: ModelInfo;
  /** SHA-256 of bundle.json (which pins every ONNX file): the exact bundle. */
  sha256: string;
  /** Its signature was verified against model.publicKey. */
  signed: boolean;
  /** When this bundle began labelling (ISO 8601). */
  since: string;
  /** The last reload (SIGHUP, `avscene reload`, `bundle install`): when, and why it was refused. */
  lastReload?: { at: string; ok: boolean; error?: string };
  /** model.bundle could not be used at start: this older installed bundle runs instead, until a good one is installed. */
  fallback?: BundleFallback;
}

/**
 * How a reload ended, and the newest request it answers: requests that arrive while a bundle is being prepared are
 * answered by one more preparation afterwards, which re-reads model.bundle.
 */
export interface ReloadResult {
  request: number;
  outcome: 'swapped' | 'refused' | 'unchanged';
  /** Why it was refused. */
  error?: string;
  /** ISO 8601. */
  at: string;
}

/** Why the daemon started on another bundle than model.bundle names. */
export interface BundleFallback {
  /** model.bundle as configured (a store's `current` link). */
  configured: string;
  /** Why it could not be used (missing, dangling, refused), with the fix. */
  reason: string;
}

/** One classified window: the message every subscriber sees, and how long each stage took (for metrics, not published). */
export interface WindowResult {
  payload: ScenePayload;
  /** Milliseconds per stage (`features`, `audio:<net>`, `heads`, `total`, …), as the engine measured them. */
  timings: Readonly<Record<string, number>>;
}

/** Counters behind the health report: the daemon's own (windows, latency, memory) merged with every sink's `stats()`. */
export type HealthSnapshot = Readonly<Record<string, number | boolean>>;

export interface SceneSink {
  /** What it publishes to, for the start-up log, e.g. `mqtt mqtt://broker:1883 avscene/kitchen/…`. Valid after start(). */
  readonly description: string;
  /**
   * Opens the output (connects, listens). Throws with a clear message when the configuration cannot work; a peer
   * that is merely unreachable is not an error (retry in the background, queue meanwhile). Returns early once
   * `signal` aborts (a stop during start-up must not wait for a broker). `live` reads the daemon's state at any
   * time (counters, last window, every sink's stats) for sinks that report it (HTTP endpoint, systemd).
   */
  start(signal: AbortSignal, live: () => LiveState): Promise<void>;
  /** Once, when every output has started and the sources are set up (before the first window): the daemon is ready. */
  running?(): void;
  /**
   * A reload began (SIGHUP); `done` resolves once the new bundle is verified and prepared, refused, or the same.
   * `request` numbers the reloads this process was asked for, from 1.
   */
  reloading?(done: Promise<void>, request: number): void;
  /** A reload ended: the new bundle labels (after `modelChanged`), was refused, or model.bundle held the running one. */
  reloaded?(result: ReloadResult): void;
  /** One message per window, in order. */
  publishWindow(result: WindowResult): void;
  /** Once a minute and at shutdown. */
  publishHealth(snapshot: HealthSnapshot): void;
  /** At start and whenever the running model or the last reload's outcome changes: re-announce what describes the model (discovery, info). */
  modelChanged(model: RunningModel): void;
  /** The sink's own counters, merged into the health snapshot; keys are prefixed with the sink's name (`mqttQueued`). */
  stats(): Record<string, number>;
  /** Delivers what it can within `budgetMs`, then releases everything it holds (sockets, servers, timers). */
  close(budgetMs: number): Promise<void>;
}
