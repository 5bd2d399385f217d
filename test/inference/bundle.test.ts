import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { BundleError, loadBundle, SceneEngine } from '../../src/inference/index.js';
import { checkSessionIO } from '../../src/inference/bundle-checks.js';
import { copyBundle, fixtureBundle, NO_TOOLKIT } from './fixture-bundles.js';

const skip = NO_TOOLKIT ?? false;
const quiet = pino({ level: 'silent' });
let base = '';
let av = '';
before(() => {
  if (skip) return;
  base = fixtureBundle('audio');
  av = fixtureBundle('av');
});

// biome-ignore lint/suspicious/noExplicitAny: tests corrupt arbitrary manifest fields
type Manifest = Record<string, any>;
/** Copies the fixture, lets `mutate` change its manifest and files, returns the copy's directory. */
function corrupt(mutate: (m: Manifest, dir: string) => void, from = base): string {
  const dir = copyBundle(from);
  const file = path.join(dir, 'bundle.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  mutate(m, dir);
  writeFileSync(file, JSON.stringify(m, null, 2));
  return dir;
}

async function rejects(dir: string, file: string, message: RegExp, stage: 'load' | 'engine' = 'load'): Promise<void> {
  const attempt = async () => {
    const bundle = await loadBundle(dir);
    if (stage === 'engine')
      await (await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet })).close();
  };
  await assert.rejects(attempt, (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected a BundleError, got ${String(err)}`);
    assert.equal(path.basename(err.file), file, `error names ${err.file}`);
    assert.match(err.message, message);
    assert.match(
      err.message,
      /re-export|Re-export|model\.bundle|Upgrade|Retrain|Fix|Copy/,
      'the message says how to fix it',
    );
    return true;
  });
}

test('the intact fixture bundle loads, and an engine opens its sessions', { skip }, async () => {
  const bundle = await loadBundle(base);
  assert.equal(bundle.manifest.classes.length, 10);
  assert.deepEqual(bundle.warnings, []);
  const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, logger: quiet });
  assert.deepEqual(engine.plan.features.sort(), ['bark', 'logmel', 'scalogram']);
  await engine.close();
});

test('missing bundle directory or bundle.json', { skip }, async () => {
  const dir = copyBundle(base);
  rmSync(path.join(dir, 'bundle.json'));
  await rejects(dir, 'bundle.json', /not found.*model\.bundle must name a directory/);
});

test('bundle.json that is not JSON', { skip }, async () => {
  const dir = copyBundle(base);
  writeFileSync(path.join(dir, 'bundle.json'), '{"format": "avscene-bundle",');
  await rejects(dir, 'bundle.json', /is not valid JSON/);
});

test('schema violations name the field', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.formatVersion = 2)),
    'bundle.json',
    /\/formatVersion must be 1/,
  );
  await rejects(
    corrupt((m) => delete m.decision),
    'bundle.json',
    /must have required property 'decision'/,
  );
  await rejects(
    corrupt((m) => (m.audioNets['logmel-resnet1d'].feature = 'mfcc')),
    'bundle.json',
    /\/audioNets\/logmel-resnet1d\/feature must be one of/,
  );
});

test('a feature spec version this daemon does not implement', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.featureSpec = 2)),
    'bundle.json',
    /featureSpec is 2 but this avscene implements feature spec version 1.*Upgrade avscene/,
  );
});

test('an ONNX file that is missing', { skip }, async () => {
  await rejects(
    corrupt((_m, dir) => rmSync(path.join(dir, 'head-bark-audio.onnx'))),
    'head-bark-audio.onnx',
    /is named in bundle\.json but missing/,
  );
});

test('an ONNX file whose SHA-256 does not match (corrupt or truncated copy)', { skip }, async () => {
  await rejects(
    corrupt((_m, dir) => appendFileSync(path.join(dir, 'audio-bark-dcnn.onnx'), Buffer.from([0]))),
    'audio-bark-dcnn.onnx',
    /SHA-256 is [0-9a-f]{64}, bundle\.json expects/,
  );
});

test('a file outside the bundle directory', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.heads['bark-audio'].file = '../../elsewhere.onnx')),
    'bundle.json',
    /lies outside the bundle directory/,
  );
});

test('class list and head output width disagree', { skip }, async () => {
  await rejects(
    corrupt((m) => m.classes.push('harbour')),
    'bundle.json',
    /head \w+-audio declares output shape \[-1,10\], expected \[-1, 11\]/,
  );
  await rejects(
    corrupt((m) => m.untrainedClasses.push('harbour')),
    'bundle.json',
    /untrainedClasses names "harbour"/,
  );
});

test('head input width differs from its audio net output width', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.heads['logmel-audio'].inputs.audio.shape[2] += 1)),
    'bundle.json',
    /head logmel-audio declares inputs\.audio shape .* expected \[-1, 6, \d+\] \(the output width of audio net logmel-resnet1d\)/,
  );
  await rejects(
    corrupt((m) => (m.heads['logmel-audio'].audioNet = 'mfcc-net')),
    'bundle.json',
    /names audio net "mfcc-net", which is not in audioNets/,
  );
});

test('audio net input that does not fit its feature', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.audioNets['scalogram-resnet1d'].input.shape = [-1, 2, 256])),
    'bundle.json',
    /audio net scalogram-resnet1d \(scalogram\) declares input shape \[-1,2,256\], expected \[-1, 2, 290\]/,
  );
});

test('decision weights that name unknown heads or have no positive weight', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.decision.weights.nonsense = 0.2)),
    'bundle.json',
    /decision\.weights names head "nonsense"/,
  );
  await rejects(
    corrupt((m) => {
      for (const k of Object.keys(m.decision.weights)) m.decision.weights[k] = 0;
    }),
    'bundle.json',
    /decision\.weights has no positive weight/,
  );
});

test('the ONNX graph input name differs from the manifest', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.audioNets['bark-dcnn'].input.name = 'spectrogram')),
    'audio-bark-dcnn.onnx',
    /has no input "spectrogram" \(its inputs: features\)/,
    'engine',
  );
});

test('the ONNX graph shape differs from the manifest (a net swapped for another)', { skip }, async () => {
  // logmel-resnet1d now points at the scalogram net's file (hash updated, so only the graph check can notice)
  await rejects(
    corrupt((m) => {
      const other = m.audioNets['scalogram-resnet1d'];
      Object.assign(m.audioNets['logmel-resnet1d'], { file: other.file, sha256: other.sha256 });
    }),
    'audio-scalogram-resnet1d.onnx',
    /input "features" has shape \[batch, 2, 290\] in the ONNX graph but \[-1, 2, 256\] in bundle\.json/,
    'engine',
  );
});

test('a failed load leaves a running engine untouched (hot reload)', { skip }, async () => {
  const engine = await SceneEngine.create(await loadBundle(base), { providers: 'cpu', threads: 1, logger: quiet });
  try {
    const bad = corrupt((m) => (m.audioNets['bark-dcnn'].output.name = 'emb'));
    await assert.rejects(
      async () => SceneEngine.create(await loadBundle(bad), { providers: 'cpu', threads: 1, logger: quiet }),
      (err: unknown) => {
        assert.ok(err instanceof BundleError, String(err));
        assert.equal(path.basename(err.file), 'audio-bark-dcnn.onnx');
        assert.match(err.message, /the ONNX graph has no output "emb" \(its outputs: embedding\)/);
        return true;
      },
    );
    const left = new Float32Array(48000).map((_, i) => Math.sin(i / 7) * 0.2);
    const result = await engine.classify({ audio: { left, right: left }, frame: null });
    assert.equal(result.degraded, false);
    assert.ok(Math.abs(result.probs.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  } finally {
    await engine.close();
  }
});

test('image net shapes that do not fit its preprocessing or the heads', { skip }, async () => {
  const net = (m: Manifest) => m.imageNets['mobilenet-v3-small'];
  await rejects(
    corrupt((m) => (net(m).input.shape = [-1, 3, 96, 128]), av),
    'bundle.json',
    /image net mobilenet-v3-small declares input shape \[-1,3,96,128\], expected \[-1, 3, 96, 96\] from its preprocess\.crop/,
  );
  await rejects(
    corrupt((m) => (net(m).input.shape = [-1, 1, 96, 96]), av),
    'bundle.json',
    /image net mobilenet-v3-small declares input shape \[-1,1,96,96\]/,
  );
  await rejects(
    corrupt((m) => (net(m).preprocess.resize = 64), av),
    'bundle.json',
    /image net mobilenet-v3-small: preprocess\.crop \[96,96\] is larger than the resized shorter side 64/,
  );
  await rejects(
    corrupt((m) => (net(m).output.shape = [-1, 576, 1]), av),
    'bundle.json',
    /image net mobilenet-v3-small declares output shape \[-1,576,1\], expected \[-1, E\]/,
  );
});

test('fallback heads must work without the missing modality', { skip }, async () => {
  await rejects(
    corrupt((m) => (m.decision.fallback.audio['mobilenet-v3-small-logmel'] = 0.2), av),
    'bundle.json',
    /decision\.fallback\.audio is used when there is no video frame, but head "mobilenet-v3-small-logmel" needs image net mobilenet-v3-small/,
  );
  await rejects(
    corrupt((m) => (m.decision.fallback.image['logmel-audio'] = 0.5), av),
    'bundle.json',
    /decision\.fallback\.image is used when there is no audio, but head "logmel-audio" needs audio net logmel-resnet1d/,
  );
  await rejects(
    corrupt((m) => (m.decision.fallback.audio.nonsense = 0.5), av),
    'bundle.json',
    /decision\.fallback\.audio names head "nonsense", which is not in heads/,
  );
  await rejects(
    corrupt((m) => {
      for (const k of Object.keys(m.decision.fallback.image)) m.decision.fallback.image[k] = 0;
    }, av),
    'bundle.json',
    /decision\.fallback\.image has no positive weight/,
  );
});

test('head structure: which nets a head uses and the inputs it declares must agree', { skip }, async () => {
  const head = (m: Manifest, key: string) => m.heads[key];
  await rejects(
    corrupt((m) => (head(m, 'logmel-audio').audioNet = null), av),
    'bundle.json',
    /head logmel-audio names neither an audio net nor an image net/,
  );
  await rejects(
    corrupt((m) => (head(m, 'mobilenet-v3-small-image').inputs.audio = { name: 'audio', shape: [-1, 6, 32] }), av),
    'bundle.json',
    /head mobilenet-v3-small-image has inputs\.audio but no audioNet/,
  );
  await rejects(
    corrupt((m) => (head(m, 'logmel-audio').inputs.image = { name: 'image', shape: [-1, 576] }), av),
    'bundle.json',
    /head logmel-audio has inputs\.image but no imageNet/,
  );
  await rejects(
    // A fusion head keeps inputs.image, so the schema (at least one input) passes and the cross-field rule is reached.
    corrupt((m) => delete head(m, 'mobilenet-v3-small-logmel').inputs.audio, av),
    'bundle.json',
    /head mobilenet-v3-small-logmel uses audio net logmel-resnet1d but has no inputs\.audio/,
  );
  await rejects(
    corrupt((m) => delete head(m, 'mobilenet-v3-small-logmel').inputs.image, av),
    'bundle.json',
    /head mobilenet-v3-small-logmel uses image net mobilenet-v3-small but has no inputs\.image/,
  );
  await rejects(
    corrupt((m) => (head(m, 'mobilenet-v3-small-image').imageNet = 'resnet'), av),
    'bundle.json',
    /head mobilenet-v3-small-image names image net "resnet", which is not in imageNets/,
  );
  await rejects(
    corrupt((m) => (head(m, 'mobilenet-v3-small-image').inputs.image.shape = [-1, 512]), av),
    'bundle.json',
    /head mobilenet-v3-small-image declares inputs\.image shape \[-1,512\], expected \[-1, 576\] \(the output width of image net mobilenet-v3-small\)/,
  );
  await rejects(
    corrupt((m) => (head(m, 'logmel-audio').output.shape = [10]), av),
    'bundle.json',
    /head logmel-audio declares output shape \[10\], expected \[-1, 10\] \(one probability per class\)/,
  );
});

test('the ONNX graph takes other inputs than bundle.json declares (count), or a type other than float32', {
  skip,
}, async () => {
  // A fusion head's graph takes audio and image; declared as an audio-only head it gets one input too few.
  await rejects(
    corrupt((m) => {
      Object.assign(m.heads['mobilenet-v3-small-logmel'], {
        imageNet: null,
        inputs: { audio: m.heads['mobilenet-v3-small-logmel'].inputs.audio },
      });
      m.decision.fallback.audio['mobilenet-v3-small-logmel'] = 0.2;
    }, av),
    'head-mobilenet-v3-small-logmel.onnx',
    /the ONNX graph has inputs \[audio, image\] but bundle\.json declares \[audio\]/,
    'engine',
  );
  // ONNX Runtime's own metadata for a graph that takes int64: what checkSessionIO gets from a real session.
  assert.throws(
    () =>
      checkSessionIO(
        'net.onnx',
        { inputs: [{ name: 'x', shape: [-1, 2] }], outputs: [] },
        { inputs: [{ name: 'x', type: 'int64', shape: ['batch', 2] }], outputs: [] },
        6,
      ),
    (err: unknown) =>
      err instanceof BundleError &&
      /input "x" is int64, expected float32/.test(err.message) &&
      /Re-export/.test(err.message),
  );
});
