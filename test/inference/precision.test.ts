/**
 * inference.precision: how fp32/fp16 map onto the TensorRT and CUDA execution providers' options, and the refusal
 * of fp16 where sessions would run on the CPU (this machine has no GPU: the refusal runs for real, with real
 * sessions of the demo bundle; the GPU side is checked as the option objects ONNX Runtime receives).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadBundle, SceneEngine } from '../../src/inference/index.js';
import { checkPrecision, executionProviders, PrecisionError } from '../../src/inference/providers.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { memoryLogger } from '../capture/support.js';

const DEMO_BUNDLE = path.join(REPO_ROOT, 'models', 'bundles', 'demo-audio');
const DEMO_CLIP = path.join(REPO_ROOT, 'deploy', 'demo', 'acoustic_scene.wav');

describe('inference.precision', () => {
  it('fp16 turns on TensorRT fp16 and allows TF32 on CUDA; fp32 keeps both at full precision; cpu takes no options', () => {
    assert.deepEqual(executionProviders(['tensorrt', 'cuda', 'cpu'], 'fp16'), [
      { name: 'tensorrt', deviceId: 0, trt_fp16_enable: true },
      { name: 'cuda', deviceId: 0, use_tf32: 1 },
      'cpu',
    ]);
    assert.deepEqual(executionProviders(['tensorrt', 'cuda', 'cpu'], 'fp32'), [
      { name: 'tensorrt', deviceId: 0, trt_fp16_enable: false },
      { name: 'cuda', deviceId: 0, use_tf32: 0 },
      'cpu',
    ]);
  });

  it('keeps TensorRT engines and timing caches in the state directory when one is given', () => {
    const [trt] = executionProviders(['tensorrt', 'cpu'], 'fp16', '/var/lib/avscene/tensorrt');
    assert.deepEqual(trt, {
      name: 'tensorrt',
      deviceId: 0,
      trt_fp16_enable: true,
      trt_engine_cache_enable: true,
      trt_engine_cache_path: '/var/lib/avscene/tensorrt',
      trt_timing_cache_enable: true,
      trt_timing_cache_path: '/var/lib/avscene/tensorrt',
    });
  });

  it('refuses fp16 for a CPU-only provider list and for sessions that fell back to the CPU; fp32 is always fine', () => {
    assert.throws(
      () => checkPrecision('fp16', ['cpu']),
      (err: Error) =>
        err instanceof PrecisionError && /needs a GPU execution provider.*inference\.precision=fp32/.test(err.message),
    );
    assert.throws(
      () => checkPrecision('fp16', ['cuda', 'cpu'], [{ key: 'head:a', provider: 'cpu' }]),
      /head:a would run on the CPU/,
    );
    assert.doesNotThrow(() => checkPrecision('fp16', ['cuda', 'cpu'], [{ key: 'head:a', provider: 'cuda' }]));
    assert.doesNotThrow(() => checkPrecision('fp32', ['cpu'], [{ key: 'head:a', provider: 'cpu' }]));
  });

  it('the engine refuses fp16 here (no GPU): with providers=cpu before opening anything, with cuda after it fell back', async () => {
    const bundle = await loadBundle(DEMO_BUNDLE);
    const { logger } = memoryLogger();
    await assert.rejects(
      SceneEngine.create(bundle, { providers: 'cpu', threads: 1, precision: 'fp16', logger }),
      PrecisionError,
    );
    await assert.rejects(
      SceneEngine.create(bundle, { providers: 'cuda,cpu', threads: 1, precision: 'fp16', logger }),
      /would run on the CPU/,
    );
    const engine = await SceneEngine.create(bundle, { providers: 'cpu', threads: 1, precision: 'fp32', logger });
    await engine.close();
  });

  it('classify with inference.precision=fp16 on this CPU exits 78 with the fix', () => {
    const r = runCli(['classify', DEMO_CLIP, '--set', 'inference.precision=fp16']);
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /inference\.precision=fp16.*would run on the CPU.*set inference\.precision=fp32/);
  });
});
