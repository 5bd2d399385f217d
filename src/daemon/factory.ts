/**
 * Builds the daemon's parts from the configuration: the model bundle and its engine, the audio and video sources, the
 * labeler, and the outputs. The only place that maps config keys to concrete classes; `Daemon` gets the parts.
 */
import path from 'node:path';
import { captureSampleRate, createAudioSource, createVideoSourceFor } from '../capture/index.js';
import type { AvsceneConfig } from '../config/load.js';
import {
  checkSampleRate,
  type Bundle,
  BundleError,
  type EngineOptions,
  engineOptions,
  loadBundle,
  providerOrder,
  type SampleRatePolicy,
  SceneEngine,
} from '../inference/index.js';
import { BundleStore, CURRENT_LINK } from '../bundles/store.js';
import { hostList } from '../config/formats.js';
import type { Logger } from '../log/logger.js';
import { MqttSink } from '../publish/mqtt-sink.js';
import { HttpSink } from '../publish/http-sink.js';
import { SystemdSink } from '../publish/systemd-sink.js';
import { DaemonRecordSink } from '../bundles/record-sink.js';
import type { BundleFallback, SceneSink } from '../publish/sink.js';
import { SystemdNotifier } from '../ops/systemd-notify.js';
import { packageVersion } from '../util/package-info.js';
import { SEQ_RESERVE, SeqStore } from '../state/seq-store.js';
import { openRuntimeDir } from '../state/runtime-file.js';
import { StateDirHealth } from '../state/state-dir-health.js';
import { lockStateDir } from '../state/state-dir-lock.js';
import { openStateDir } from '../state/state-dir.js';
import { type DaemonParts, runningModel } from './daemon.js';
import { SceneLabeler } from '../pipeline/scene-labeler.js';

export interface AssembledDaemon extends DaemonParts {
  /** The MQTT output, also among `sinks`: `avscene run --watch` subscribes to its broker. */
  mqtt: MqttSink;
}

/**
 * Loads the bundle (BundleError, exit 78, when it is corrupt), starts its inference engine and builds the rest.
 * Nothing is opened but the engine; if building anything after it fails, the engine is closed before the error is thrown.
 */
/** The daemon's engine options, for its first bundle and any bundle swapped in later. */
export function daemonEngineOptions(config: AvsceneConfig, logger: Logger): EngineOptions {
  // TensorRT keeps the engines it builds under state.dir: a reboot does not rebuild them (minutes on a Jetson).
  const engineCache = providerOrder(config.inference.providers).includes('tensorrt')
    ? openStateDir(config.state.dir, 'tensorrt')
    : undefined;
  return engineOptions(config.inference, logger, engineCache);
}

/** While TensorRT builds engines, systemd's start timeout is extended by this much at a time, this often, this long at most. */
const EXTEND_BY_MS = 60_000;
const EXTEND_EVERY_MS = 20_000;
const EXTEND_AT_MOST_MS = 30 * 60_000;

/**
 * Runs `work` (the engine's creation); when TensorRT may build engines in it (minutes on a Jetson's first start), keeps
 * extending systemd's start timeout (EXTEND_TIMEOUT_USEC) until it is done, for 30 minutes at most: a build that never
 * ends still times out.
 */
async function extendingStartTimeout<T>(
  notifier: SystemdNotifier | null,
  tensorrt: boolean,
  bundle: string,
  work: Promise<T>,
): Promise<T> {
  if (!notifier || !tensorrt) return work;
  const status = `loading ${bundle}: TensorRT may be building its engines (minutes on a first start; kept under state.dir/tensorrt)`;
  const t0 = Date.now();
  notifier.extendStartTimeout(EXTEND_BY_MS, status);
  const timer = setInterval(() => {
    if (Date.now() - t0 + EXTEND_BY_MS <= EXTEND_AT_MOST_MS) notifier.extendStartTimeout(EXTEND_BY_MS, status);
  }, EXTEND_EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * The bundle to start on, with its engine: model.bundle; or, when that is a bundle store's `current` link and it is
 * missing, dangling or refused (BundleError), the newest installed bundle that loads, so a bad install or a deleted
 * folder never keeps a device dark. The fallback is logged as an error and reported on `…/info` until fixed.
 */
async function openStartBundle(
  config: AvsceneConfig,
  logger: Logger,
  notifier: SystemdNotifier | null,
): Promise<{ bundle: Bundle; engine: SceneEngine; fallback?: BundleFallback }> {
  const options = daemonEngineOptions(config, logger);
  const tensorrt = providerOrder(config.inference.providers).includes('tensorrt');
  const open = async (dir: string) => {
    const bundle = await loadBundle(dir, { publicKey: config.model.publicKey });
    const policy = config.model.sampleRateMismatch as SampleRatePolicy;
    checkSampleRate(bundle, captureSampleRate(config.audio), policy, logger);
    const name = `${bundle.manifest.name} ${bundle.manifest.version}`;
    return {
      bundle,
      engine: await extendingStartTimeout(notifier, tensorrt, name, SceneEngine.create(bundle, options)),
    };
  };
  try {
    return await open(config.model.bundle);
  } catch (err) {
    if (!(err instanceof BundleError) || path.basename(config.model.bundle) !== CURRENT_LINK) throw err;
    const store = new BundleStore(path.dirname(path.resolve(config.model.bundle)));
    const target = await store.active().catch(() => null);
    const reason = `${target === null ? `${CURRENT_LINK} is missing` : `${CURRENT_LINK} -> ${target}`}: ${err.message}`;
    for (const dir of await store.fallbackCandidates()) {
      try {
        const opened = await open(dir);
        const fallback = { configured: config.model.bundle, reason };
        logger.error(
          { configured: config.model.bundle, running: dir, reason },
          `model.bundle ${config.model.bundle} cannot be used; running on ${dir} instead, the newest installed bundle that loads. Install a good bundle (avscene bundle install) or roll back (avscene bundle rollback)`,
        );
        return { ...opened, fallback };
      } catch (next) {
        if (!(next instanceof BundleError)) throw next;
        logger.warn({ bundle: dir, reason: next.message }, 'fallback bundle refused too; trying an older one');
      }
    }
    throw err;
  }
}

export async function createDaemonParts(config: AvsceneConfig, logger: Logger): Promise<AssembledDaemon> {
  const stateDir = openStateDir(config.state.dir); // a state.dir that cannot work stops start-up first (exit 78)
  const runtime = openRuntimeDir(stateDir);
  // Before anything else reads or writes state.dir: a second daemon on it stops here (exit 78, naming the first).
  const lock = lockStateDir(stateDir, runtime.dir);
  // A full or read-only state.dir is a storage fault, not a reason to stop: found now, logged once, labelling goes on.
  const storage = new StateDirHealth(stateDir, logger);
  storage.tryProbe();
  if (runtime.problem)
    logger.warn(
      { problem: runtime.problem },
      `RAM folder refused: ${runtime.problem}; running without RAM records (after a crash seq may skip up to ${SEQ_RESERVE} and acknowledged windows may be sent again)`,
    );
  if (lock.target !== stateDir)
    logger.warn(
      { lock: lock.target },
      `state.dir cannot be opened: one daemon per state.dir is ensured by a lock on the RAM folder ${lock.target}`,
    );
  const stateDirPart = {
    stats: () => storage.stats(),
    // After the window counter's clean stop (the daemon closes it first); the kernel would release the lock at exit anyway.
    close: () => {
      storage.close();
      lock.release();
    },
  };
  // First, so that systemd hears about a long engine build.
  const notifier = SystemdNotifier.fromEnvironment(logger);
  let opened: Awaited<ReturnType<typeof openStartBundle>>;
  try {
    opened = await openStartBundle(config, logger, notifier);
  } catch (err) {
    notifier?.close(); // its socket would keep the process from exiting
    stateDirPart.close();
    throw err;
  }
  const { bundle, engine, fallback } = opened;
  let seq: SeqStore | undefined;
  try {
    const model = runningModel(bundle, new Date().toISOString());
    const http = config.http.listen
      ? new HttpSink(
          {
            listen: config.http.listen,
            allowedHosts: hostList(config.http.allowedHosts),
            deviceId: config.device.id,
            version: packageVersion(),
          },
          model,
          logger,
        )
      : undefined;
    const mqtt = new MqttSink(
      { deviceId: config.device.id, stateDir, storage, ...config.mqtt },
      model.bundle,
      logger,
      () => http?.reachableAddress,
    );
    // seq continues across restarts, above any window still waiting in the outbox.
    seq = new SeqStore(stateDir, config.device.id, logger, {
      floors: mqtt.seqFloors,
      runtimeDir: runtime.dir,
      health: storage,
    });
    const counter = seq;
    // Sinks start in this order: the HTTP endpoint answers (and says "starting") before the broker is contacted.
    const sinks: SceneSink[] = http ? [http] : [];
    sinks.push(mqtt);
    // How reloads end, for `avscene reload --wait` (in the RAM folder, beside this state.dir's) and, for a daemon
    // labelling from a store's `current`, for `bundle install` there.
    const recordFolders = runtime.dir ? [path.dirname(runtime.dir)] : [];
    if (path.basename(config.model.bundle) === CURRENT_LINK)
      recordFolders.push(path.dirname(path.resolve(config.model.bundle)));
    if (recordFolders.length > 0) sinks.push(new DaemonRecordSink(recordFolders, logger));
    if (notifier) sinks.push(new SystemdSink(notifier));
    return {
      audio: createAudioSource(config, logger),
      video: createVideoSourceFor(
        config,
        { name: bundle.manifest.name, usesImages: engine.plan.imageNets.length > 0 },
        logger,
        engine.imagePreprocess,
      ),
      engine,
      labeler: new SceneLabeler(engine, bundle, config.device.id, config.inference.smoothing, () => counter.next()),
      windowCounter: seq,
      stateDir: stateDirPart,
      model: `${bundle.manifest.name} ${bundle.manifest.version}`,
      ...(fallback ? { fallback } : {}),
      // Every output the daemon publishes to; a new sink is built here from its own config section.
      sinks,
      mqtt,
    };
  } catch (err) {
    seq?.close();
    stateDirPart.close();
    notifier?.close();
    await engine.close();
    throw err;
  }
}
