/**
 * Model bundle loading (format: models/BUNDLE.md, schema: bundle.schema.json).
 *
 * `loadBundle` checks everything that can be checked without creating inference sessions: JSON schema, file
 * locations and SHA-256, feature spec version, classes, and that every head's inputs fit the nets it names
 * (bundle-checks.ts). The ONNX graphs' actual input/output names and shapes are checked by `checkSessionIO` when the
 * engine opens the sessions. Loading has no side effects, so a daemon can load a new bundle while the old engine keeps running.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { checkSchema, checkSemantics } from './bundle-checks.js';
import {
  BundleError,
  MANIFEST_FILE,
  REEXPORT,
  type Bundle,
  type BundleManifest,
  type OnnxFileSpec,
} from './bundle-manifest.js';
import { readPublicKey, verifyManifestSignature } from './bundle-signature.js';

export interface LoadOptions {
  /** PEM file of the Ed25519 public key bundles must be signed with (model.publicKey); unset or empty = no signature check. */
  publicKey?: string;
}

/** Reads, validates and returns the bundle in `dir`. Throws BundleError on the first problem found. */
export async function loadBundle(dir: string, options: LoadOptions = {}): Promise<Bundle> {
  // Resolved once, so every file comes from the same bundle even if a `current` link is flipped meanwhile.
  const root = await realpath(path.resolve(dir)).catch(() => path.resolve(dir));
  const manifestPath = path.join(root, MANIFEST_FILE);
  const bytes = await readManifestBytes(manifestPath);
  // The signature first: nothing else of an unvouched-for manifest is worth reading.
  if (options.publicKey)
    await verifyManifestSignature(root, bytes, await readPublicKey(options.publicKey), options.publicKey);
  const manifest = parseManifest(manifestPath, bytes);
  const warnings = checkSemantics(manifest, manifestPath);
  for (const [, spec] of onnxFiles(manifest)) await checkFile(root, spec);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { dir: root, manifest, sha256, signed: Boolean(options.publicKey), warnings };
}

async function readManifestBytes(manifestPath: string): Promise<Buffer> {
  try {
    return await readFile(manifestPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(err)})`;
    throw new BundleError(
      manifestPath,
      problem,
      'model.bundle must name a directory exported by the toolkit (it contains bundle.json and the ONNX files).',
    );
  }
}

function parseManifest(manifestPath: string, bytes: Buffer): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BundleError(manifestPath, `is not valid JSON (${(err as Error).message})`, REEXPORT);
  }
  checkSchema(json, manifestPath);
  return json;
}

function* onnxFiles(m: BundleManifest): Generator<[string, OnnxFileSpec]> {
  for (const [k, v] of Object.entries(m.audioNets)) yield [`audioNets.${k}`, v];
  for (const [k, v] of Object.entries(m.imageNets)) yield [`imageNets.${k}`, v];
  for (const [k, v] of Object.entries(m.heads)) yield [`heads.${k}`, v];
}

/** Absolute path of a file named in the manifest (loadBundle has checked that it stays inside the bundle). */
export function bundleFile(bundle: Pick<Bundle, 'dir'>, file: string): string {
  return path.join(bundle.dir, file);
}

async function checkFile(root: string, spec: OnnxFileSpec): Promise<void> {
  const full = path.resolve(root, spec.file);
  if (path.isAbsolute(spec.file) || !full.startsWith(root + path.sep)) {
    throw new BundleError(
      path.join(root, MANIFEST_FILE),
      `file "${spec.file}" lies outside the bundle directory`,
      'A bundle names its files relative to its own directory; re-export it.',
    );
  }
  try {
    if (!(await stat(full)).isFile()) throw new Error('not a regular file');
  } catch {
    throw new BundleError(
      full,
      'is named in bundle.json but missing',
      `Copy the complete bundle directory (all ONNX files beside bundle.json). ${REEXPORT}`,
    );
  }
  const actual = await sha256File(full);
  if (actual !== spec.sha256) {
    throw new BundleError(
      full,
      `SHA-256 is ${actual}, bundle.json expects ${spec.sha256} (the file is corrupt, truncated or from another export)`,
      REEXPORT,
    );
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
