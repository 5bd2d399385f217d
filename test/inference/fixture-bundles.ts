/**
 * Test fixture bundles: small UNTRAINED bundles written at test time by the toolkit's own exporter
 * (`python3 -m avscene_models fixture`, random seeded weights, tiny widths: ~2 s each), so the tests load real
 * ONNX files produced exactly as real bundles are.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/media.js';

export const PYTHON = '/usr/bin/python3';
const MODELS = path.join(REPO_ROOT, 'models');

/** Why fixture bundles cannot be built here (no Debian python3-torch / toolkit), or null when they can. */
export const NO_TOOLKIT: string | null = (() => {
  if (!existsSync(path.join(MODELS, 'avscene_models', 'fixtures.py')))
    return 'the toolkit (models/avscene_models) is not there';
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { encoding: 'utf8' });
  return r.status === 0
    ? null
    : `${PYTHON} cannot import torch/torchvision/onnx (apt-get install python3-torch python3-torchvision python3-onnx)`;
})();

/** Runs a toolkit command from models/ with one torch thread. */
export function toolkit(args: string[]): string {
  return execFileSync(PYTHON, ['-m', 'avscene_models', ...args], {
    cwd: MODELS,
    encoding: 'utf8',
    env: { ...process.env, AVSCENE_TORCH_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Temporary folders of this test process, removed when it exits. */
const scratch: string[] = [];
process.on('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder removed when the test process exits. */
export function scratchDir(prefix = 'avscene-test-'): string {
  const dir = tempDir(prefix);
  scratch.push(dir);
  return dir;
}

const built = new Map<string, string>();

/** A fixture bundle ("audio": three audio nets and heads; "av": plus a MobileNetV3-S 96 px image net, fusion and fallback heads). */
export function fixtureBundle(system: 'audio' | 'av', seed = 0): string {
  const key = `${system}-${seed}`;
  if (!built.has(key)) {
    const dir = path.join(scratchDir('avscene-bundle-'), `fixture-${key}`);
    toolkit(['fixture', '--system', system, '--out', dir, '--seed', String(seed), '--no-parity']);
    built.set(key, dir);
  }
  return built.get(key)!;
}

/** A private, writable copy of a fixture bundle, for corrupting. */
export function copyBundle(dir: string): string {
  const copy = path.join(scratchDir('avscene-bundle-copy-'), path.basename(dir));
  cpSync(dir, copy, { recursive: true });
  return copy;
}
