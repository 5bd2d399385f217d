/**
 * The capture rate against the rate the bundle's training audio was recorded at (manifest `trainedSampleRate`).
 * Features always resample to 48 kHz, but resampling does not add or remove what a recording holds: a model trained
 * on 16 kHz recordings never saw anything above 8 kHz, and a 48 kHz capture hands it exactly that band (or the other
 * way round, a 16 kHz capture lacks what a 48 kHz-trained model relies on). model.sampleRateMismatch says whether
 * such a bundle runs with a warning (`warn`) or is refused (`refuse`: at start-up, exit 78; on a hot swap the
 * running bundle stays).
 */
import type { Logger } from '../log/logger.js';
import { BundleError, MANIFEST_FILE, type Bundle } from './bundle-manifest.js';

export type SampleRatePolicy = 'warn' | 'refuse';
export const SAMPLE_RATE_POLICIES: readonly SampleRatePolicy[] = ['warn', 'refuse'];

const khz = (hz: number): string => `${+(hz / 1000).toFixed(3)} kHz`;

/** What differs, or null when the bundle records no training rate or it equals `captureRate`. */
export function sampleRateMismatch(bundle: Pick<Bundle, 'manifest'>, captureRate: number | null): string | null {
  const trained = bundle.manifest.trainedSampleRate;
  if (trained === undefined || captureRate === null || trained === captureRate) return null;
  const [low, high] = trained < captureRate ? ['the model', 'this capture'] : ['this capture', 'the model'];
  return (
    `bundle ${bundle.manifest.name} ${bundle.manifest.version} was trained on audio recorded at ${khz(trained)}, the ` +
    `audio source gives ${khz(captureRate)}: resampled to 48 kHz both hold sound up to their own Nyquist frequency ` +
    `(${khz(trained / 2)} trained, ${khz(captureRate / 2)} here), so ${high} has a band ${low} lacks ` +
    `(${khz(Math.min(trained, captureRate) / 2)}–${khz(Math.max(trained, captureRate) / 2)}) and its scores may not hold`
  );
}

/** Warns (logger) or refuses (BundleError) as `policy` says; nothing when the rates agree. */
export function checkSampleRate(
  bundle: Pick<Bundle, 'manifest' | 'dir'>,
  captureRate: number | null,
  policy: SampleRatePolicy,
  logger: Pick<Logger, 'warn'>,
): void {
  const problem = sampleRateMismatch(bundle, captureRate);
  if (!problem) return;
  if (policy === 'refuse')
    throw new BundleError(
      `${bundle.dir}/${MANIFEST_FILE}`,
      problem,
      `Capture at ${khz(bundle.manifest.trainedSampleRate!)}, use a bundle trained on audio recorded at ` +
        `${khz(captureRate!)}, or set model.sampleRateMismatch=warn to run it anyway.`,
    );
  logger.warn(
    { trainedSampleRate: bundle.manifest.trainedSampleRate, captureSampleRate: captureRate },
    `${problem} (model.sampleRateMismatch=refuse refuses such a bundle)`,
  );
}
