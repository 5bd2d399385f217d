/**
 * The one place that loads the OpenCV binding (@u4/opencv4nodejs, built against the system OpenCV).
 * Video sources, image preprocessing and the eval PNG writer all call `loadOpenCV()`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type CV = typeof import('@u4/opencv4nodejs').default;
export type Mat = import('@u4/opencv4nodejs').Mat;
export type VideoCapture = import('@u4/opencv4nodejs').VideoCapture;

const REBUILD_HINT =
  'Run `make setup` (it builds the binding against the system OpenCV), or by hand: ' +
  '`sudo apt-get install libopencv-dev` then `OPENCV4NODEJS_DISABLE_AUTOBUILD=1 JOBS=2 npm rebuild @u4/opencv4nodejs`.';

let loading: Promise<CV> | undefined;

/** Loads the binding once; later calls share the same module. Throws an error that says how to build it when it is missing. */
export function loadOpenCV(): Promise<CV> {
  loading ??= importOpenCV().catch((err: unknown) => {
    loading = undefined; // a later call may succeed after a rebuild
    throw err;
  });
  return loading;
}

async function importOpenCV(): Promise<CV> {
  // Without this the ESM loader looks for its own OpenCV build and throws "No build found"; we always use the system OpenCV.
  process.env.OPENCV4NODEJS_DISABLE_AUTOBUILD ??= '1';
  // Node 20 aborts ("Check failed: marking_done_") in readAsync() while V8 tracks Mat memory; we release every Mat instead.
  process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';

  const binding = bindingPath();
  if (binding !== undefined && !existsSync(binding)) {
    throw new Error(`The OpenCV binding is not built (${binding} is missing). ${REBUILD_HINT}`);
  }
  try {
    const { Log } = await import('@u4/opencv-build');
    Log.silence = true; // the loader prints coloured "Info:" lines otherwise
    const mod = await import('@u4/opencv4nodejs');
    return mod.default;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`Cannot load the OpenCV binding @u4/opencv4nodejs: ${reason.trim()}. ${REBUILD_HINT}`, {
      cause: err,
    });
  }
}

/** Where npm builds the native addon; undefined when the package itself is not installed (the import then names it). */
function bindingPath(): string | undefined {
  try {
    // The package exports only ".", whose CommonJS entry is <package>/cjs/lib/opencv4nodejs.js.
    const entry = createRequire(import.meta.url).resolve('@u4/opencv4nodejs');
    return path.resolve(path.dirname(entry), '..', '..', 'build', 'Release', 'opencv4nodejs.node');
  } catch {
    return undefined;
  }
}
