/** Where the installed package lies and what it ships, so defaults work from any working directory. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the installed package (…/avscene): this file is src/util/ (tsx) or dist/util/ (built) below it. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The bundled demo recording, audio.file's default. */
export const DEMO_CLIP = path.join(PACKAGE_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');
/** The bundled demo model, model.bundle's default. */
export const DEMO_BUNDLE = path.join(PACKAGE_ROOT, 'models', 'bundles', 'demo-audio');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
