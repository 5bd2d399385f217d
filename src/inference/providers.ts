/**
 * Execution-provider choice. `inference.providers` is "auto" (TensorRT, CUDA, then CPU, as the installed
 * onnxruntime-node offers them) or an explicit comma list; CPU is always the last resort, so a device whose GPU
 * libraries are missing still classifies (and the log says so).
 */
import * as ort from 'onnxruntime-node';

export type Provider = 'tensorrt' | 'cuda' | 'cpu';
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
