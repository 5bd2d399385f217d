/**
 * Execution-provider choice. `inference.providers` is "auto" (TensorRT, CUDA, then CPU, as the installed
 * onnxruntime-node offers them) or an explicit comma list; CPU is always the last resort, so a device whose GPU
 * libraries are missing still classifies (and the log says so).
 */
import * as ort from 'onnxruntime-node';

export type Provider = 'tensorrt' | 'cuda' | 'cpu';
/** inference.precision: fp32 everywhere, or fp16 where the GPU provider can run it. */
export type Precision = 'fp32' | 'fp16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16'];
const KNOWN: readonly Provider[] = ['tensorrt', 'cuda', 'cpu'];

export interface InstalledBackend {
  name: string;
  bundled: boolean;
}

/** What the installed onnxruntime-node build knows about; `bundled: false` = needs provider libraries installed beside it. */
export function installedBackends(): InstalledBackend[] {
  const list = (ort as { listSupportedBackends?: () => InstalledBackend[] }).listSupportedBackends;
  return list ? list() : [{ name: 'cpu', bundled: true }];
}

/**
 * The ordered list to try for a config value, always ending with cpu. "auto" keeps only the GPU providers the
 * installed build lists at all (an explicit list is tried as given, so the log shows why it failed).
 */
export function providerOrder(
  config: string,
  installed: readonly InstalledBackend[] = installedBackends(),
): Provider[] {
  const auto = config.trim() === 'auto';
  const wanted = auto
    ? KNOWN.filter((p) => installed.some((b) => b.name === p))
    : config.split(',').map((p) => p.trim().toLowerCase());
  for (const p of wanted) {
    if (!KNOWN.includes(p as Provider))
      throw new RangeError(
        `inference.providers: unknown provider "${p}" (use auto or a comma list of ${KNOWN.join(', ')})`,
      );
  }
  const order = [...new Set(wanted as Provider[])];
  if (!order.includes('cpu')) order.push('cpu');
  return order;
}

/** One entry of ONNX Runtime's `executionProviders` list: a name, or a name with the provider's own options. */
export type ProviderEntry = string | ({ name: string } & Record<string, string | number | boolean>);

/** inference.precision=fp16 on a machine (or a provider list) that would run it on the CPU. Exit 78: a setting to change. */
export class PrecisionError extends Error {
  readonly exitCode = 78;
}

/**
 * The `executionProviders` entries for a provider order and a precision. Option names are those of ONNX Runtime's
 * TensorRT and CUDA providers:
 * - TensorRT: `trt_fp16_enable` (fp16 kernels where TensorRT finds them faster, fp32 elsewhere); with a cache
 *   directory, built engines and timing caches are kept there (`trt_engine_cache_*`, `trt_timing_cache_*`), so a
 *   reboot does not rebuild them (minutes on a Jetson);
 * - CUDA: runs the graph in the precision it was exported in; `use_tf32` is what precision changes there: fp32 keeps
 *   Ampere's (Jetson Orin's) matrix units out of fp32 maths (`use_tf32: 0`), fp16 allows their reduced precision.
 * - CPU: fp32 only (see checkPrecision).
 */
export function executionProviders(
  order: readonly Provider[],
  precision: Precision,
  engineCacheDir?: string,
): ProviderEntry[] {
  return order.map((p): ProviderEntry => {
    if (p === 'tensorrt') {
      return {
        name: 'tensorrt',
        deviceId: 0,
        trt_fp16_enable: precision === 'fp16',
        ...(engineCacheDir
          ? {
              trt_engine_cache_enable: true,
              trt_engine_cache_path: engineCacheDir,
              trt_timing_cache_enable: true,
              trt_timing_cache_path: engineCacheDir,
            }
          : {}),
      };
    }
    if (p === 'cuda') return { name: 'cuda', deviceId: 0, use_tf32: precision === 'fp16' ? 1 : 0 };
    return p;
  });
}

/**
 * Refuses fp16 where it cannot happen: when the order holds no GPU provider (`sessionProviders` absent), or when a
 * session fell back to the CPU. fp32 is always fine.
 */
export function checkPrecision(
  precision: Precision,
  order: readonly Provider[],
  sessionProviders?: ReadonlyArray<{ key: string; provider: Provider }>,
): void {
  if (precision === 'fp32') return;
  const fix =
    'set inference.precision=fp32 (the CPU computes in fp32), or install onnxruntime-node with the CUDA/TensorRT providers and their libraries (README § Jetson)';
  if (!order.some((p) => p !== 'cpu')) {
    throw new PrecisionError(
      `inference.precision=fp16 needs a GPU execution provider (TensorRT or CUDA), but inference.providers resolves to "${order.join(',')}" here: ${fix}.`,
    );
  }
  const onCpu = (sessionProviders ?? []).filter((s) => s.provider === 'cpu').map((s) => s.key);
  if (onCpu.length > 0) {
    throw new PrecisionError(
      `inference.precision=fp16, but ${onCpu.join(', ')} would run on the CPU (no GPU execution provider could open them here): ${fix}.`,
    );
  }
}
