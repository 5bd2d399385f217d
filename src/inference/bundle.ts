/**
 * Model bundle loading and validation (format: models/BUNDLE.md, schema: bundle.schema.json).
 *
 * `loadBundle` checks everything that can be checked without creating inference sessions: JSON schema, file
 * locations and SHA-256, feature spec version, classes, and that every head's inputs fit the nets it names.
 * The ONNX graphs' actual input/output names and shapes are checked by `checkSessionIO` when the engine opens the
 * sessions. Loading has no side effects, so a daemon can load a new bundle while the old engine keeps running.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import schema from './bundle.schema.json' with { type: 'json' };
import { FEATURE_BANDS, FEATURE_SPEC_VERSION, type FeatureKind } from '../features/index.js';
import { EX_CONFIG } from '../util/exit-codes.js';

export const MANIFEST_FILE = 'bundle.json';

export interface TensorSpec { name: string; shape: number[] }
interface OnnxFileSpec { file: string; sha256: string }
export interface AudioNetSpec extends OnnxFileSpec {
  architecture: string;
  feature: FeatureKind;
  input: TensorSpec;
  output: TensorSpec;
}
export interface PreprocessSpec { resize: number; crop: [number, number]; mean: [number, number, number]; std: [number, number, number] }
export interface ImageNetSpec extends OnnxFileSpec {
  architecture: string;
  input: TensorSpec;
  output: TensorSpec;
  preprocess: PreprocessSpec;
}
export interface HeadSpec extends OnnxFileSpec {
  audioNet: string | null;
  imageNet: string | null;
  inputs: { audio?: TensorSpec; image?: TensorSpec };
  output: TensorSpec;
  temperature?: number;
  metrics?: Record<string, unknown>;
}
export type Weights = Record<string, number>;
export interface DecisionSpec {
  method: 'weighted' | 'unweighted';
  weights: Weights;
  fallback?: { audio?: Weights; image?: Weights };
}
export interface BundleManifest {
  format: 'avscene-bundle';
  formatVersion: 1;
  name: string;
  version: string;
  description?: string;
  created?: string;
  featureSpec: number;
  sampleRate: 48000;
  windowSeconds: 1;
  framesPerWindow: 6;
  classes: string[];
  untrainedClasses?: string[];
  audioNets: Record<string, AudioNetSpec>;
  imageNets: Record<string, ImageNetSpec>;
  heads: Record<string, HeadSpec>;
  decision: DecisionSpec;
  metrics?: Record<string, unknown>;
  provenance?: Record<string, unknown>;
}

export interface Bundle {
  /** Absolute bundle directory. */
  dir: string;
  manifest: BundleManifest;
  /** Things that work but deserve a log line (e.g. a head nobody uses). */
  warnings: string[];
}

/** A bundle the daemon must refuse. `file` is the offending file; the message says what is wrong and how to fix it. */
export class BundleError extends Error {
  /** EX_CONFIG, like a bad configuration: restarting will not mend the bundle (systemd: RestartPreventExitStatus=78). */
  readonly exitCode = EX_CONFIG;
  constructor(readonly file: string, readonly problem: string, readonly fix: string) {
    super(`model bundle: ${file}: ${problem}. ${fix}`);
    this.name = 'BundleError';
  }
}

const REEXPORT = 'Re-export the bundle with the toolkit (python3 -m avscene_models export …) or point model.bundle at an intact copy.';

const validateManifest = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Reads, validates and returns the bundle in `dir`. Throws BundleError on the first problem found. */
export async function loadBundle(dir: string): Promise<Bundle> {
  const root = path.resolve(dir);
  const manifestPath = path.join(root, MANIFEST_FILE);
  const manifest = await readManifest(manifestPath);
  const warnings = checkSemantics(manifest, manifestPath);
  for (const [, spec] of onnxFiles(manifest)) await checkFile(root, spec);
  return { dir: root, manifest, warnings };
}

async function readManifest(manifestPath: string): Promise<BundleManifest> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(err)})`;
    throw new BundleError(manifestPath, problem, 'model.bundle must name a directory exported by the toolkit (it contains bundle.json and the ONNX files).');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BundleError(manifestPath, `is not valid JSON (${(err as Error).message})`, REEXPORT);
  }
  if (!validateManifest(json)) {
    const errors = (validateManifest.errors ?? []).slice(0, 5).map(describeSchemaError).join('; ');
    throw new BundleError(manifestPath, `does not match the bundle schema: ${errors}`, `Fix those fields (see models/BUNDLE.md) or ${REEXPORT[0]!.toLowerCase()}${REEXPORT.slice(1)}`);
  }
  return json as unknown as BundleManifest;
}

function describeSchemaError(e: ErrorObject): string {
  const where = e.instancePath || '(top level)';
  if (e.keyword === 'const') return `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  if (e.keyword === 'enum') return `${where} must be one of ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}`;
  return `${where} ${e.message ?? 'is invalid'}`;
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
    throw new BundleError(path.join(root, MANIFEST_FILE), `file "${spec.file}" lies outside the bundle directory`, 'A bundle names its files relative to its own directory; re-export it.');
  }
  try {
    if (!(await stat(full)).isFile()) throw new Error('not a regular file');
  } catch {
    throw new BundleError(full, 'is named in bundle.json but missing', `Copy the complete bundle directory (all ONNX files beside bundle.json). ${REEXPORT}`);
  }
  const actual = await sha256File(full);
  if (actual !== spec.sha256) {
    throw new BundleError(full, `SHA-256 is ${actual}, bundle.json expects ${spec.sha256} (the file is corrupt, truncated or from another export)`, REEXPORT);
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Cross-field rules of BUNDLE.md. Returns warnings for legal but wasteful content. */
function checkSemantics(m: BundleManifest, manifestPath: string): string[] {
  const fail = (problem: string, fix = REEXPORT): never => {
    throw new BundleError(manifestPath, problem, fix);
  };
  if (m.featureSpec !== FEATURE_SPEC_VERSION) {
    fail(`featureSpec is ${m.featureSpec} but this avscene implements feature spec version ${FEATURE_SPEC_VERSION}`,
      m.featureSpec > FEATURE_SPEC_VERSION ? 'Upgrade avscene to a release that implements that spec version.' : 'Retrain and re-export the bundle with this avscene\'s feature code.');
  }
  for (const c of m.untrainedClasses ?? []) if (!m.classes.includes(c)) fail(`untrainedClasses names "${c}", which is not in classes`);
  const batch = (d: number | undefined, n: number): boolean => d === -1 || d === n;

  for (const [key, net] of Object.entries(m.audioNets)) {
    const bands = FEATURE_BANDS[net.feature];
    const [b, ch, f, ...rest] = net.input.shape;
    if (!batch(b, m.framesPerWindow) || ch !== 2 || f !== bands || rest.length > 0) {
      fail(`audio net ${key} (${net.feature}) declares input shape [${net.input.shape}], expected [-1, 2, ${bands}] (frames, channels avg/diff, ${net.feature} filters)`);
    }
    if (net.output.shape.length !== 2 || !batch(net.output.shape[0], m.framesPerWindow)) fail(`audio net ${key} declares output shape [${net.output.shape}], expected [-1, D]`);
  }
  for (const [key, net] of Object.entries(m.imageNets)) {
    const { crop, resize } = net.preprocess;
    const [b, c, h, w, ...rest] = net.input.shape;
    if (!batch(b, 1) || c !== 3 || h !== crop[0] || w !== crop[1] || rest.length > 0) {
      fail(`image net ${key} declares input shape [${net.input.shape}], expected [-1, 3, ${crop[0]}, ${crop[1]}] from its preprocess.crop`);
    }
    if (Math.min(...crop) > resize) fail(`image net ${key}: preprocess.crop [${crop}] is larger than the resized shorter side ${resize}`);
    if (net.output.shape.length !== 2 || !batch(net.output.shape[0], 1)) fail(`image net ${key} declares output shape [${net.output.shape}], expected [-1, E]`);
  }
  for (const [key, head] of Object.entries(m.heads)) checkHead(m, key, head, fail);

  const checkWeights = (what: string, weights: Weights, needs?: 'audio' | 'image'): void => {
    for (const h of Object.keys(weights)) {
      const head = m.heads[h];
      if (!head) fail(`${what} names head "${h}", which is not in heads (heads: ${Object.keys(m.heads).join(', ')})`);
      if (needs === 'audio' && head!.imageNet) fail(`${what} is used when there is no video frame, but head "${h}" needs image net ${head!.imageNet}`);
      if (needs === 'image' && head!.audioNet) fail(`${what} is used when there is no audio, but head "${h}" needs audio net ${head!.audioNet}`);
    }
    if (!Object.values(weights).some((w) => w > 0)) fail(`${what} has no positive weight`);
  };
  checkWeights('decision.weights', m.decision.weights);
  if (m.decision.fallback?.audio) checkWeights('decision.fallback.audio', m.decision.fallback.audio, 'audio');
  if (m.decision.fallback?.image) checkWeights('decision.fallback.image', m.decision.fallback.image, 'image');

  const warnings: string[] = [];
  const used = new Set(activeHeads(m.decision));
  for (const h of Object.keys(m.heads)) if (!used.has(h)) warnings.push(`head ${h} has weight 0 everywhere in decision: it is never run (the toolkit should leave it out)`);
  return warnings;
}

function checkHead(m: BundleManifest, key: string, head: HeadSpec, fail: (problem: string) => never): void {
  const what = `head ${key}`;
  if (!head.audioNet && !head.imageNet) fail(`${what} names neither an audio net nor an image net`);
  if (head.audioNet !== null) {
    const net = m.audioNets[head.audioNet] ?? fail(`${what} names audio net "${head.audioNet}", which is not in audioNets`);
    const input = head.inputs.audio ?? fail(`${what} uses audio net ${head.audioNet} but has no inputs.audio`);
    const [b, frames, d, ...rest] = input.shape;
    const width = net.output.shape[1];
    if ((b !== -1 && b !== 1) || frames !== m.framesPerWindow || d !== width || rest.length > 0) {
      fail(`${what} declares inputs.audio shape [${input.shape}], expected [-1, ${m.framesPerWindow}, ${width}] (the output width of audio net ${head.audioNet})`);
    }
  } else if (head.inputs.audio) fail(`${what} has inputs.audio but no audioNet`);
  if (head.imageNet !== null) {
    const net = m.imageNets[head.imageNet] ?? fail(`${what} names image net "${head.imageNet}", which is not in imageNets`);
    const input = head.inputs.image ?? fail(`${what} uses image net ${head.imageNet} but has no inputs.image`);
    const width = net.output.shape[1];
    if (input.shape.length !== 2 || (input.shape[0] !== -1 && input.shape[0] !== 1) || input.shape[1] !== width) {
      fail(`${what} declares inputs.image shape [${input.shape}], expected [-1, ${width}] (the output width of image net ${head.imageNet})`);
    }
  } else if (head.inputs.image) fail(`${what} has inputs.image but no imageNet`);
  const out = head.output.shape;
  if (out.length !== 2 || out[1] !== m.classes.length) fail(`${what} declares output shape [${out}], expected [-1, ${m.classes.length}] (one probability per class)`);
}

/** Heads with a positive weight in the normal weights or any fallback: the only ones the engine loads. */
export function activeHeads(decision: DecisionSpec): string[] {
  const sets = [decision.weights, decision.fallback?.audio ?? {}, decision.fallback?.image ?? {}];
  return [...new Set(sets.flatMap((s) => Object.keys(s).filter((h) => s[h]! > 0)))];
}

/** What ONNX Runtime reports for one graph input or output. */
export interface GraphValue { name: string; type?: string; shape?: ReadonlyArray<number | string> }

/**
 * Compares a session's real inputs/outputs with the manifest. Dimensions declared −1 in the manifest must be
 * dynamic (symbolic) in the graph or equal the size the engine feeds (`batch`); fixed ones must match exactly.
 */
export function checkSessionIO(
  file: string,
  expected: { inputs: TensorSpec[]; outputs: TensorSpec[] },
  actual: { inputs: readonly GraphValue[]; outputs: readonly GraphValue[] },
  batch: number,
): void {
  for (const [side, want, got] of [['input', expected.inputs, actual.inputs], ['output', expected.outputs, actual.outputs]] as const) {
    const names = got.map((v) => v.name);
    if (side === 'input' && got.length !== want.length) {
      throw new BundleError(file, `the ONNX graph has inputs [${names.join(', ')}] but bundle.json declares [${want.map((t) => t.name).join(', ')}]`, REEXPORT);
    }
    for (const spec of want) {
      const value = got.find((v) => v.name === spec.name);
      if (!value) throw new BundleError(file, `the ONNX graph has no ${side} "${spec.name}" (its ${side}s: ${names.join(', ')})`, REEXPORT);
      if (value.type !== undefined && value.type !== 'float32') throw new BundleError(file, `${side} "${spec.name}" is ${value.type}, expected float32`, REEXPORT);
      if (!value.shape || value.shape.length === 0) continue; // shape not recorded in the graph: nothing to compare
      const dims = value.shape;
      const fits = dims.length === spec.shape.length && spec.shape.every((d, i) => {
        const g = dims[i]!;
        if (typeof g === 'string' || g === -1) return true;
        return d === -1 ? g === batch : g === d;
      });
      if (!fits) {
        throw new BundleError(file, `${side} "${spec.name}" has shape [${dims.join(', ')}] in the ONNX graph but [${spec.shape.join(', ')}] in bundle.json`, REEXPORT);
      }
    }
  }
}
