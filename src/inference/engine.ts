/**
 * SceneEngine: the fused model of a bundle, applied to one 1-s window and its center frame.
 *
 * Per window every piece of work happens once and is shared: one STFT for all feature kinds, each audio net once
 * (the 6 frames are its batch), one preprocessed tensor per distinct preprocess block, each image net once, then
 * every head on those embeddings, then decision fusion. Heads with weight 0 (and nets only they use) are never
 * loaded. Sessions live in a worker thread ("lane", see session-lane.ts), so the caller's event loop stays free and
 * the nets of a window run while this thread computes the features. Image nets are dispatched first, so the audio
 * features are computed while the slowest net runs.
 *
 * `lanes: 2` puts the image nets in a second worker, beside the audio nets and heads. On the 2-core machine we
 * measured, that was slower (the audio lane's threads stall the image nets' parallel loops), so one lane is the
 * default; try `avscene bench --lanes 2` on bigger CPUs.
 */
import os from 'node:os';
import type { Logger } from '../log/logger.js';
import type { WindowFrame } from '../video/frame.js';
import { loadOpenCV, type CV } from '../video/opencv.js';
import { FeatureExtractor, type FeatureKind, type Features } from '../features/index.js';
import { argmax, chooseWeights, fuseDecisions, UNKNOWN_LABEL, type Modality } from '../fusion/index.js';
import { bundleFile } from './bundle.js';
import { checkSessionIO } from './bundle-checks.js';
import { activeHeads, BundleError, type Bundle, type BundleManifest, type TensorSpec } from './bundle-manifest.js';
import { checkPrecision, installedBackends, providerOrder, type Precision, type Provider } from './providers.js';
import { preprocessFrame, preprocessKey, type PreprocessSpec } from '../video/preprocess.js';
import { SessionLane, type Optimization, type WireTensor } from './session-lane.js';

export type { Modality } from '../fusion/index.js';

export interface SceneResult {
  classes: readonly string[];
  /** Fused class probabilities (sum 1). */
  probs: Float64Array;
  label: string;
  confidence: number;
  /** Modalities that went into this result (those of the heads that ran). */
  modalities: Modality[];
  /** True when the result is less than the bundle was built to give: a modality is missing and no fallback heads cover it, or a net failed. */
  degraded: boolean;
  degradedReason?: string;
  /** Set when a modality was missing and the bundle's fallback heads for the other one were used. */
  fallback?: Modality;
  /** Per-head probabilities of the heads that ran. */
  heads: Record<string, number[]>;
  /** Milliseconds: features, preprocess, audio:<net>, image:<net>, heads (the last three: time inside ONNX Runtime), fusion, total (wall). */
  timings: Record<string, number>;
}

export interface EngineInput {
  audio: { left: Float32Array; right: Float32Array } | null;
  /** A BGR frame (preprocessed here, OpenCV loaded on the first), or one the video process preprocessed already. */
  frame: WindowFrame | null;
}

export interface EngineOptions {
  /** inference.providers: "auto" or a comma list of tensorrt, cuda, cpu. */
  providers: string;
  /** Intra-op threads per session; 0 = one per core. */
  threads: number;
  logger: Logger;
  /** Intra-op threads of the audio lane's sessions when there are two lanes (default: half of `threads`, at least 1). */
  audioThreads?: number;
  /** Worker threads for sessions: 1 (default) runs all nets in one, 2 runs image nets beside audio nets and heads. */
  lanes?: 1 | 2;
  /** ONNX Runtime graph optimisation level (default "all"). */
  optimization?: Optimization;
  /** inference.precision (default fp32); fp16 is refused (PrecisionError) where a session would run on the CPU. */
  precision?: Precision;
  /** Where TensorRT keeps the engines it builds (under state.dir), so a restart does not rebuild them. */
  engineCacheDir?: string;
}

/** EngineOptions from the config's inference section: the one way the daemon and the offline tools configure sessions. */
export function engineOptions(
  inference: { providers: string; threads: number; precision: string },
  logger: Logger,
  engineCacheDir?: string,
): EngineOptions {
  return {
    providers: inference.providers,
    threads: inference.threads,
    precision: inference.precision as Precision,
    logger,
    ...(engineCacheDir ? { engineCacheDir } : {}),
  };
}

/** Where each session runs and which provider it got, for logs and `avscene bench`. */
export interface SessionInfo {
  key: string;
  kind: 'audioNet' | 'imageNet' | 'head';
  lane: string;
  provider: Provider;
}

/** What the engine loaded: heads with a positive weight somewhere, the nets they use, the feature kinds those read. */
export interface Plan {
  heads: string[];
  audioNets: string[];
  imageNets: string[];
  features: FeatureKind[];
}

/** The engine cannot classify any more (its worker thread is gone): only a restart of the process mends it. */
export class EngineFailure extends Error {
  constructor(cause: Error) {
    super(`inference engine stopped working (${cause.message}); restart avscene (systemd does it by itself)`, {
      cause,
    });
    this.name = 'EngineFailure';
  }
}

const UNLOADABLE = 'Export the bundle again with the toolkit (ONNX opset 17), or point model.bundle at one that loads.';

const sessionKey = (kind: SessionInfo['kind'], key: string): string => `${kind}:${key}`;

export class SceneEngine {
  private lastDegraded: string | undefined;
  /** Loaded on the first BGR frame: image bundles fed by a video process (frames already preprocessed) never need it here. */
  private cv: Promise<CV> | undefined;

  private constructor(
    readonly bundle: Bundle,
    readonly sessions: readonly SessionInfo[],
    readonly plan: Plan,
    private readonly lanes: { image: SessionLane; audio: SessionLane; all: SessionLane[] },
    private readonly features: FeatureExtractor | null,
    private readonly logger: Logger,
  ) {}

  get manifest(): BundleManifest {
    return this.bundle.manifest;
  }

  get classes(): readonly string[] {
    return this.bundle.manifest.classes;
  }

  /** The distinct preprocess blocks of the image nets it runs: what a video source preprocesses frames for. */
  get imagePreprocess(): PreprocessSpec[] {
    const blocks = new Map<string, PreprocessSpec>();
    for (const key of this.plan.imageNets) {
      const p = this.manifest.imageNets[key]!.preprocess;
      blocks.set(preprocessKey(p), p);
    }
    return [...blocks.values()];
  }

  /**
   * Opens every session the bundle's decision weights need and checks each graph's inputs and outputs against
   * the manifest (BundleError on a mismatch). Nothing is shared with other engines, so a failed create leaves a
   * running engine untouched.
   */
  static async create(bundle: Bundle, opts: EngineOptions): Promise<SceneEngine> {
    const { logger } = opts;
    const m = bundle.manifest;
    const plan = planFor(m);
    for (const w of bundle.warnings) logger.warn({ bundle: m.name }, w);
    const installed = installedBackends();
    const order = providerOrder(opts.providers, installed);
    logger.info(
      { installed: installed.map((b) => `${b.name}${b.bundled ? '' : ' (needs provider libraries)'}`), order },
      'onnxruntime-node execution providers',
    );
    const precision = opts.precision ?? 'fp32';
    checkPrecision(precision, order);
    const threads = opts.threads > 0 ? opts.threads : os.availableParallelism();
    const optimization = opts.optimization ?? 'all';
    const twoLanes = opts.lanes === 2 && plan.imageNets.length > 0 && plan.audioNets.length > 0;
    // The audio lane's small nets and heads overlap the image nets: giving them fewer threads leaves the cores to the big nets.
    const audioThreads = twoLanes ? (opts.audioThreads ?? Math.max(1, Math.floor(threads / 2))) : threads;
    const audio = new SessionLane(twoLanes ? 'audio' : 'nets');
    const image = twoLanes ? new SessionLane('image') : audio;
    const all = twoLanes ? [audio, image] : [audio];
    const warned = new Set<Provider>();
    try {
      const open = async (
        kind: SessionInfo['kind'],
        key: string,
        file: string,
        lane: SessionLane,
        io: { inputs: TensorSpec[]; outputs: TensorSpec[] },
        batch: number,
      ): Promise<SessionInfo> => {
        const path = bundleFile(bundle, file);
        const laneThreads = lane === audio ? audioThreads : threads;
        const reply = await lane
          .open(sessionKey(kind, key), path, {
            providers: order,
            threads: laneThreads,
            optimization,
            precision,
            engineCacheDir: opts.engineCacheDir,
          })
          .catch((err: Error) => {
            // Its checksum matched, yet ONNX Runtime cannot parse or run the graph: a restart will not change that (exit 78).
            throw /bad_alloc|out of memory/i.test(err.message)
              ? err
              : new BundleError(path, `ONNX Runtime cannot load it (${err.message.split('\n')[0]})`, UNLOADABLE);
          });
        checkSessionIO(path, io, reply, batch);
        for (const f of reply.fallbacks) {
          if (warned.has(f.provider)) continue;
          warned.add(f.provider);
          // With "auto" a missing GPU provider is expected on CPU-only machines; a provider the user named is worth a warning.
          const level = opts.providers.trim() === 'auto' ? 'info' : 'warn';
          logger[level](
            { provider: f.provider, reason: f.reason },
            `execution provider ${f.provider} is not usable here; sessions fall back to the next in ${order.join(',')}`,
          );
        }
        logger.info(
          { session: key, provider: reply.provider, lane: lane.name, threads: laneThreads },
          `session ${key} runs on ${reply.provider}`,
        );
        return { key, kind, lane: lane.name, provider: reply.provider };
      };
      // Every session is asked for at once: each lane opens its sessions back to back (two lanes at the same time)
      // while this thread builds the filterbanks.
      const opening = [
        ...plan.imageNets.map((key) => {
          const n = m.imageNets[key]!;
          return open('imageNet', key, n.file, image, { inputs: [n.input], outputs: [n.output] }, 1);
        }),
        ...plan.audioNets.map((key) => {
          const n = m.audioNets[key]!;
          return open('audioNet', key, n.file, audio, { inputs: [n.input], outputs: [n.output] }, m.framesPerWindow);
        }),
        ...plan.heads.map((key) => {
          const h = m.heads[key]!;
          const inputs = [h.inputs.audio, h.inputs.image].filter((t): t is TensorSpec => t !== undefined);
          return open('head', key, h.file, audio, { inputs, outputs: [h.output] }, 1);
        }),
      ];
      const features = plan.features.length > 0 ? new FeatureExtractor(plan.features) : null;
      const sessions = await Promise.all(opening);
      checkPrecision(precision, order, sessions);
      logger.info(
        {
          bundle: m.name,
          version: m.version,
          heads: plan.heads,
          audioNets: plan.audioNets,
          imageNets: plan.imageNets,
          features: plan.features,
        },
        'inference engine ready',
      );
      return new SceneEngine(bundle, sessions, plan, { image, audio, all }, features, logger);
    } catch (err) {
      await Promise.all(all.map((l) => l.close()));
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.all.map((l) => l.close()));
  }

  /**
   * Classifies one window. Never throws for a missing modality or a failing net (the result says degraded and why); throws EngineFailure once
   * a worker thread is gone, since every later window would fail too and a degraded label forever helps nobody.
   */
  async classify(input: EngineInput): Promise<SceneResult> {
    const dead = this.lanes.all.find((lane) => lane.failed !== null);
    if (dead) throw new EngineFailure(dead.failed!);
    const t0 = performance.now();
    const timings: Record<string, number> = {};
    const m = this.bundle.manifest;
    const choice = chooseWeights(this.manifest, input.audio !== null, input.frame !== null);
    const problems: string[] = choice.reason ? [choice.reason] : [];
    const heads = Object.keys(choice.weights).filter((h) => choice.weights[h]! > 0);
    const audioNets = new Set(heads.map((h) => m.heads[h]!.audioNet).filter((n): n is string => n !== null));
    const imageNets = new Set(heads.map((h) => m.heads[h]!.imageNet).filter((n): n is string => n !== null));

    // Image branch first: its nets are the slowest, and they run in their own worker while this thread computes features.
    const imageEmb = new Map<string, Promise<WireTensor | null>>();
    if (imageNets.size > 0 && input.frame) {
      const tp = performance.now();
      const tensors = new Map<string, Float32Array | Error>();
      for (const key of imageNets) {
        const p = m.imageNets[key]!.preprocess;
        const pk = preprocessKey(p);
        if (!tensors.has(pk)) tensors.set(pk, await this.tensorFor(input.frame, p, pk));
        const t = tensors.get(pk)!;
        if (t instanceof Error) {
          problems.push(`image preprocessing for ${key} failed: ${t.message}`);
          continue;
        }
        const net = m.imageNets[key]!;
        imageEmb.set(
          key,
          this.runNet(
            'image',
            key,
            net.input.name,
            { data: t, dims: [1, 3, net.preprocess.crop[0], net.preprocess.crop[1]] },
            timings,
            problems,
          ),
        );
      }
      timings.preprocess = performance.now() - tp;
    }

    const audioEmb = new Map<string, Promise<WireTensor | null>>();
    if (audioNets.size > 0 && input.audio) {
      const tf = performance.now();
      let feats: Features = {};
      try {
        feats = this.features!.window(input.audio.left, input.audio.right);
      } catch (err) {
        problems.push(`audio features failed: ${(err as Error).message}`);
      }
      timings.features = performance.now() - tf;
      for (const key of audioNets) {
        const net = m.audioNets[key]!;
        const data = feats[net.feature];
        if (!data) continue;
        audioEmb.set(
          key,
          this.runNet(
            'audio',
            key,
            net.input.name,
            { data, dims: [m.framesPerWindow, 2, data.length / (2 * m.framesPerWindow)] },
            timings,
            problems,
          ),
        );
      }
    }

    const headProbs: Record<string, number[]> = {};
    let headMs = 0;
    await Promise.all(
      heads.map(async (key) => {
        const h = m.heads[key]!;
        const feeds: Record<string, WireTensor> = {};
        if (h.audioNet) {
          const emb = await audioEmb.get(h.audioNet);
          if (!emb) return;
          feeds[h.inputs.audio!.name] = { data: emb.data, dims: [1, ...emb.dims] };
        }
        if (h.imageNet) {
          const emb = await imageEmb.get(h.imageNet);
          if (!emb) return;
          feeds[h.inputs.image!.name] = emb;
        }
        try {
          const { outputs, ms } = await this.lanes.audio.run(sessionKey('head', key), feeds);
          headMs += ms;
          headProbs[key] = Array.from(outputs[h.output.name]!.data);
        } catch (err) {
          problems.push(`head ${key} failed: ${(err as Error).message}`);
        }
      }),
    );
    timings.heads = headMs;

    const tz = performance.now();
    const ran = Object.keys(headProbs);
    let probs: Float64Array;
    if (ran.length > 0) {
      probs = fuseDecisions(headProbs, choice.weights);
      if (ran.length < heads.length) problems.push(`fused ${ran.length} of ${heads.length} heads`);
    } else {
      probs = new Float64Array(m.classes.length).fill(1 / m.classes.length);
      if (problems.length === 0) problems.push('no head could run');
    }
    timings.fusion = performance.now() - tz;
    timings.total = performance.now() - t0;

    const best = argmax(probs);
    const degradedReason = problems.length > 0 ? problems.join('; ') : undefined;
    this.logDegradation(degradedReason);
    return {
      classes: m.classes,
      probs,
      label: ran.length > 0 ? m.classes[best]! : UNKNOWN_LABEL,
      confidence: ran.length > 0 ? probs[best]! : 0,
      modalities: (['audio', 'image'] as const).filter((mod) =>
        ran.some((h) => (mod === 'audio' ? m.heads[h]!.audioNet : m.heads[h]!.imageNet) !== null),
      ),
      degraded: degradedReason !== undefined,
      ...(degradedReason !== undefined ? { degradedReason } : {}),
      ...(choice.fallback ? { fallback: choice.fallback } : {}),
      heads: headProbs,
      timings,
    };
  }

  /** The frame's tensor for one preprocess block: the video process's, or made here from BGR; an Error says why not. */
  private async tensorFor(frame: WindowFrame, p: PreprocessSpec, pk: string): Promise<Float32Array | Error> {
    if (!('bgr' in frame)) {
      // Frames asked for before a bundle swap carry the old bundle's blocks: that window goes without its image.
      return frame.tensors[pk] ?? new Error('the frame was preprocessed for other image nets (a bundle swap?)');
    }
    let cv: CV;
    try {
      this.cv ??= loadOpenCV();
      cv = await this.cv;
    } catch (err) {
      this.cv = undefined; // the binding did not load: a later frame tries again
      return err as Error;
    }
    try {
      return preprocessFrame(cv, frame, p);
    } catch (err) {
      return err as Error;
    }
  }

  private async runNet(
    kind: Modality,
    key: string,
    inputName: string,
    tensor: WireTensor,
    timings: Record<string, number>,
    problems: string[],
  ): Promise<WireTensor | null> {
    const lane = kind === 'image' ? this.lanes.image : this.lanes.audio;
    const spec = kind === 'image' ? this.manifest.imageNets[key]! : this.manifest.audioNets[key]!;
    try {
      const { outputs, ms } = await lane.run(sessionKey(kind === 'image' ? 'imageNet' : 'audioNet', key), {
        [inputName]: tensor,
      });
      timings[`${kind}:${key}`] = ms;
      return outputs[spec.output.name]!;
    } catch (err) {
      problems.push(`${kind} net ${key} failed: ${(err as Error).message}`);
      return null;
    }
  }

  private logDegradation(reason: string | undefined): void {
    if (reason === this.lastDegraded) return;
    if (reason) this.logger.warn({ reason }, 'scene label degraded');
    else this.logger.info('scene label back to full quality');
    this.lastDegraded = reason;
  }
}

export function planFor(m: BundleManifest): Plan {
  const heads = activeHeads(m.decision).filter((h) => m.heads[h]);
  const audioNets = [...new Set(heads.map((h) => m.heads[h]!.audioNet).filter((n): n is string => n !== null))];
  const imageNets = [...new Set(heads.map((h) => m.heads[h]!.imageNet).filter((n): n is string => n !== null))];
  const features = [...new Set(audioNets.map((n) => m.audioNets[n]!.feature))];
  return { heads, audioNets, imageNets, features };
}
