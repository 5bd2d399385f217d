/** Real bundles for deployment tests: copies of the shipped demo bundle under another version, signed by the toolkit. */
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

export const DEMO_BUNDLE = path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio');
const MODELS = path.join(REPO_ROOT, 'models');

/** A copy of the demo bundle in `dir`/`folder` whose bundle.json says `version` (its ONNX files, and so its labels, are the demo's). */
export function demoVersion(dir: string, version: string, folder = `demo-${version}`): string {
  const out = path.join(dir, folder);
  cpSync(DEMO_BUNDLE, out, { recursive: true });
  const file = path.join(out, 'bundle.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...manifest, version }, null, 2) + '\n');
  return out;
}

/** Runs the toolkit (Debian python3 + python3-cryptography) from models/. */
function toolkit(args: string[]): string {
  return execFileSync('/usr/bin/python3', ['-m', 'avscene_models', ...args], {
    cwd: MODELS,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh Ed25519 key pair made by the toolkit: { key, pub } file paths. */
export function keyPair(dir: string, name: string): { key: string; pub: string } {
  toolkit(['keygen', '--out', path.join(dir, name)]);
  return { key: path.join(dir, `${name}.key`), pub: path.join(dir, `${name}.pub`) };
}

/** Signs `bundle` (writes bundle.sig) with the toolkit, as a release engineer does. */
export function signBundle(bundle: string, key: string): void {
  toolkit(['sign', bundle, '--key', key]);
}

/** Packs `bundle` as NAME.tar.gz with its folder at the top, the way the README says to ship one. */
export function tarBundle(bundle: string, archive: string): string {
  execFileSync('tar', ['-czf', archive, '-C', path.dirname(bundle), path.basename(bundle)]);
  return archive;
}
