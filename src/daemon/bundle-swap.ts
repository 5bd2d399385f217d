/**
 * Hot swap of the model bundle (SIGHUP, `avscene reload`, `avscene bundle install`): the daemon keeps labelling with
 * the running bundle while the new one is prepared beside it, off the hot path — model.bundle re-read (following a
 * `current` link), validated (schema, SHA-256 of every file, signature when model.publicKey is set), its sessions
 * opened and one warm-up window classified. The inference loop then `take()`s it between two windows, so no window is
 * lost and `seq` has no gap. Any failure (a bundle with another class list too) leaves the running bundle in place;
 * `onSettled` reports why (and a request that changes nothing).
 */
import {
  checkSampleRate,
  loadBundle,
  type Bundle,
  type EngineOptions,
  type SampleRatePolicy,
  type SceneEngine,
} from '../inference/index.js';
import { openWarm } from '../inference/warm-up.js';
import type { Logger } from '../log/logger.js';

export interface SwapSettings {
  /** model.bundle: read again on every request. */
  bundle: string;
  /** model.publicKey ('' = none). */
  publicKey: string;
  /** The running engine's options (providers, threads, precision, TensorRT cache), so a swapped-in bundle runs alike. */
  engine: EngineOptions;
  /** The audio source's sample rate (null: unknown) and model.sampleRateMismatch: a bundle trained at another rate is
   *  warned about or refused, as at start-up. */
  captureRate?: number | null;
  sampleRateMismatch?: SampleRatePolicy;
}

/** A bundle ready to take over, and what preparing it took. */
export interface PreparedBundle {
  bundle: Bundle;
  engine: SceneEngine;
  /** The newest reload request it answers. */
  request: number;
  /** Milliseconds: reading and checking the files (+ signature), opening the sessions, the warm-up window. */
  validateMs: number;
  sessionsMs: number;
  warmUpMs: number;
}

export class BundleSwapper {
  private preparing: Promise<void> | null = null;
  private again = false;
  private ready: PreparedBundle | null = null;
  private closed = false;
  /** The newest request number; a preparation answers the requests made before it began. */
  private latest = 0;

  constructor(
    private readonly settings: SwapSettings,
    /** The bundle labelling now (to recognise a request that changes nothing). */
    private readonly running: () => Bundle,
    private readonly logger: Logger,
    /** A preparation ended without a bundle to take: refused (`err`) or model.bundle holds the running one (null). */
    private readonly onSettled: (request: number, err: Error | null) => void,
  ) {}

  /**
   * Starts preparing model.bundle; a request while one is being prepared runs once more afterwards (the link may have
   * moved again). `request` numbers the requests, increasing.
   */
  request(request: number): void {
    if (this.closed) return;
    this.latest = Math.max(this.latest, request);
    if (this.preparing) {
      this.again = true;
      return;
    }
    this.preparing = this.prepare().finally(() => {
      this.preparing = null;
      if (this.again) {
        this.again = false;
        this.request(this.latest);
      }
    });
  }

  /** The prepared bundle, once: the caller makes it the running one now, between two windows. */
  take(): PreparedBundle | null {
    const ready = this.ready;
    this.ready = null;
    return ready;
  }

  /** Waits for a preparation in progress and closes a prepared engine nobody took (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.preparing;
    await this.take()?.engine.close();
  }

  /** Resolves when no preparation is in progress (tests, and a clean shutdown). */
  async settled(): Promise<void> {
    while (this.preparing) await this.preparing;
  }

  private async prepare(): Promise<void> {
    const { settings, logger } = this;
    const t0 = performance.now();
    const request = this.latest;
    try {
      const bundle = await loadBundle(settings.bundle, { publicKey: settings.publicKey });
      const current = this.ready?.bundle ?? this.running();
      if (bundle.sha256 === current.sha256) {
        logger.info(
          { bundle: `${bundle.manifest.name} ${bundle.manifest.version}`, sha256: bundle.sha256 },
          `reload: ${settings.bundle} still holds the running bundle; nothing to swap`,
        );
        this.onSettled(request, null);
        return;
      }
      // Dashboards, Home Assistant and history tools read labels (and probs) by the running class list: a bundle with
      // other classes, or the same classes in another order, would change what every published field means mid-run.
      if (bundle.manifest.classes.join('\n') !== current.manifest.classes.join('\n')) {
        throw new Error(
          `${bundle.dir}: its classes [${bundle.manifest.classes.join(', ')}] differ from the running bundle's ` +
            `[${current.manifest.classes.join(', ')}]; a hot swap keeps the class list. Restart the daemon ` +
            '(systemctl restart avscene) to change the classes, or install a bundle with the same classes in the same order',
        );
      }
      checkSampleRate(bundle, settings.captureRate ?? null, settings.sampleRateMismatch ?? 'warn', logger);
      const validateMs = performance.now() - t0;
      logger.info(
        { bundle: `${bundle.manifest.name} ${bundle.manifest.version}`, dir: bundle.dir },
        'reload: new bundle verified; opening its sessions beside the running ones',
      );
      const warm = await openWarm(bundle, settings.engine);
      if (this.closed) {
        await warm.engine.close();
        return;
      }
      await this.take()?.engine.close(); // superseded before it took over
      this.ready = {
        bundle,
        engine: warm.engine,
        request,
        validateMs,
        sessionsMs: warm.sessionsMs,
        warmUpMs: warm.warmUpMs,
      };
    } catch (err) {
      this.onSettled(request, err as Error);
    }
  }
}
