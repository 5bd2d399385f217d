/**
 * The checks a bundle must pass: its manifest against the JSON schema, the cross-field rules of models/BUNDLE.md
 * (shapes that fit each other, weights that name real heads), and, once sessions are open, each ONNX graph's real
 * inputs and outputs against the manifest.
 */
import { Ajv, type ErrorObject } from 'ajv';
import schema from './bundle.schema.json' with { type: 'json' };
import { FEATURE_BANDS, FEATURE_SPEC_VERSION } from '../features/index.js';
import {
  activeHeads,
  BundleError,
  REEXPORT,
  type BundleManifest,
  type HeadSpec,
  type TensorSpec,
  type Weights,
} from './bundle-manifest.js';

const validateManifest = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Throws BundleError naming the first schema violations of `json` (read from `manifestPath`). */
export function checkSchema(json: unknown, manifestPath: string): asserts json is BundleManifest {
  if (!validateManifest(json)) {
    const errors = (validateManifest.errors ?? []).slice(0, 5).map(describeSchemaError).join('; ');
    throw new BundleError(
      manifestPath,
      `does not match the bundle schema: ${errors}`,
      `Fix those fields (see models/BUNDLE.md) or ${REEXPORT[0]!.toLowerCase()}${REEXPORT.slice(1)}`,
    );
  }
}

function describeSchemaError(e: ErrorObject): string {
  const where = e.instancePath || '(top level)';
  if (e.keyword === 'const')
    return `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  if (e.keyword === 'enum')
    return `${where} must be one of ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** Cross-field rules of BUNDLE.md. Returns warnings for legal but wasteful content. */
export function checkSemantics(m: BundleManifest, manifestPath: string): string[] {
  const fail = (problem: string, fix = REEXPORT): never => {
    throw new BundleError(manifestPath, problem, fix);
  };
  if (m.featureSpec !== FEATURE_SPEC_VERSION) {
    fail(
      `featureSpec is ${m.featureSpec} but this avscene implements feature spec version ${FEATURE_SPEC_VERSION}`,
      m.featureSpec > FEATURE_SPEC_VERSION
        ? 'Upgrade avscene to a release that implements that spec version.'
        : "Retrain and re-export the bundle with this avscene's feature code.",
    );
  }
  for (const c of m.untrainedClasses ?? [])
    if (!m.classes.includes(c)) fail(`untrainedClasses names "${c}", which is not in classes`);
  const batch = (d: number | undefined, n: number): boolean => d === -1 || d === n;

  for (const [key, net] of Object.entries(m.audioNets)) {
    const bands = FEATURE_BANDS[net.feature];
    const [b, ch, f, ...rest] = net.input.shape;
    if (!batch(b, m.framesPerWindow) || ch !== 2 || f !== bands || rest.length > 0) {
      fail(
        `audio net ${key} (${net.feature}) declares input shape [${net.input.shape}], expected [-1, 2, ${bands}] (frames, channels avg/diff, ${net.feature} filters)`,
      );
    }
    if (net.output.shape.length !== 2 || !batch(net.output.shape[0], m.framesPerWindow))
      fail(`audio net ${key} declares output shape [${net.output.shape}], expected [-1, D]`);
  }
  for (const [key, net] of Object.entries(m.imageNets)) {
    const { crop, resize } = net.preprocess;
    const [b, c, h, w, ...rest] = net.input.shape;
    if (!batch(b, 1) || c !== 3 || h !== crop[0] || w !== crop[1] || rest.length > 0) {
      fail(
        `image net ${key} declares input shape [${net.input.shape}], expected [-1, 3, ${crop[0]}, ${crop[1]}] from its preprocess.crop`,
      );
    }
    if (Math.min(...crop) > resize)
      fail(`image net ${key}: preprocess.crop [${crop}] is larger than the resized shorter side ${resize}`);
    if (net.output.shape.length !== 2 || !batch(net.output.shape[0], 1))
      fail(`image net ${key} declares output shape [${net.output.shape}], expected [-1, E]`);
  }
  for (const [key, head] of Object.entries(m.heads)) checkHead(m, key, head, fail);

  const checkWeights = (what: string, weights: Weights, needs?: 'audio' | 'image'): void => {
    for (const h of Object.keys(weights)) {
      const head = m.heads[h];
      if (!head) fail(`${what} names head "${h}", which is not in heads (heads: ${Object.keys(m.heads).join(', ')})`);
      if (needs === 'audio' && head!.imageNet)
        fail(`${what} is used when there is no video frame, but head "${h}" needs image net ${head!.imageNet}`);
      if (needs === 'image' && head!.audioNet)
        fail(`${what} is used when there is no audio, but head "${h}" needs audio net ${head!.audioNet}`);
    }
    if (!Object.values(weights).some((w) => w > 0)) fail(`${what} has no positive weight`);
  };
  checkWeights('decision.weights', m.decision.weights);
  if (m.decision.fallback?.audio) checkWeights('decision.fallback.audio', m.decision.fallback.audio, 'audio');
  if (m.decision.fallback?.image) checkWeights('decision.fallback.image', m.decision.fallback.image, 'image');

  const warnings: string[] = [];
  const used = new Set(activeHeads(m.decision));
  for (const h of Object.keys(m.heads))
    if (!used.has(h))
      warnings.push(`head ${h} has weight 0 everywhere in decision: it is never run (the toolkit should leave it out)`);
  return warnings;
}

function checkHead(m: BundleManifest, key: string, head: HeadSpec, fail: (problem: string) => never): void {
  const what = `head ${key}`;
  if (!head.audioNet && !head.imageNet) fail(`${what} names neither an audio net nor an image net`);
  if (head.audioNet !== null) {
    const net =
      m.audioNets[head.audioNet] ?? fail(`${what} names audio net "${head.audioNet}", which is not in audioNets`);
    const input = head.inputs.audio ?? fail(`${what} uses audio net ${head.audioNet} but has no inputs.audio`);
    const [b, frames, d, ...rest] = input.shape;
    const width = net.output.shape[1];
    if ((b !== -1 && b !== 1) || frames !== m.framesPerWindow || d !== width || rest.length > 0) {
      fail(
        `${what} declares inputs.audio shape [${input.shape}], expected [-1, ${m.framesPerWindow}, ${width}] (the output width of audio net ${head.audioNet})`,
      );
    }
  } else if (head.inputs.audio) fail(`${what} has inputs.audio but no audioNet`);
  if (head.imageNet !== null) {
    const net =
      m.imageNets[head.imageNet] ?? fail(`${what} names image net "${head.imageNet}", which is not in imageNets`);
    const input = head.inputs.image ?? fail(`${what} uses image net ${head.imageNet} but has no inputs.image`);
    const width = net.output.shape[1];
    if (input.shape.length !== 2 || (input.shape[0] !== -1 && input.shape[0] !== 1) || input.shape[1] !== width) {
      fail(
        `${what} declares inputs.image shape [${input.shape}], expected [-1, ${width}] (the output width of image net ${head.imageNet})`,
      );
    }
  } else if (head.inputs.image) fail(`${what} has inputs.image but no imageNet`);
  const out = head.output.shape;
  if (out.length !== 2 || out[1] !== m.classes.length)
    fail(`${what} declares output shape [${out}], expected [-1, ${m.classes.length}] (one probability per class)`);
}

/** What ONNX Runtime reports for one graph input or output. */
export interface GraphValue {
  name: string;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

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
  for (const [side, want, got] of [
    ['input', expected.inputs, actual.inputs],
    ['output', expected.outputs, actual.outputs],
  ] as const) {
    const names = got.map((v) => v.name);
    if (side === 'input' && got.length !== want.length) {
      throw new BundleError(
        file,
        `the ONNX graph has inputs [${names.join(', ')}] but bundle.json declares [${want.map((t) => t.name).join(', ')}]`,
        REEXPORT,
      );
    }
    for (const spec of want) {
      const value = got.find((v) => v.name === spec.name);
      if (!value)
        throw new BundleError(
          file,
          `the ONNX graph has no ${side} "${spec.name}" (its ${side}s: ${names.join(', ')})`,
          REEXPORT,
        );
      if (value.type !== undefined && value.type !== 'float32')
        throw new BundleError(file, `${side} "${spec.name}" is ${value.type}, expected float32`, REEXPORT);
      if (!value.shape || value.shape.length === 0) continue; // shape not recorded in the graph: nothing to compare
      const dims = value.shape;
      const fits =
        dims.length === spec.shape.length &&
        spec.shape.every((d, i) => {
          const g = dims[i]!;
          if (typeof g === 'string' || g === -1) return true;
          return d === -1 ? g === batch : g === d;
        });
      if (!fits) {
        throw new BundleError(
          file,
          `${side} "${spec.name}" has shape [${dims.join(', ')}] in the ONNX graph but [${spec.shape.join(', ')}] in bundle.json`,
          REEXPORT,
        );
      }
    }
  }
}
