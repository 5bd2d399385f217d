import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenCV } from '../../src/video/opencv.js';
import { preprocessFrame, preprocessKey, resizedSize } from '../../src/video/preprocess.js';
import { providerOrder } from '../../src/inference/providers.js';

const frame = (width: number, height: number, pixel: (x: number, y: number) => [number, number, number]) => {
  const bgr = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) bgr.set(pixel(x, y), (y * width + x) * 3);
  return { timestamp: 0, width, height, bgr };
};

test('resize keeps the aspect ratio and truncates the long side like torchvision', () => {
  assert.deepEqual(resizedSize(1280, 720, 456), { width: 810, height: 456 }); // 456·1280/720 = 810.67
  assert.deepEqual(resizedSize(720, 1280, 224), { width: 224, height: 398 });
  assert.deepEqual(resizedSize(300, 300, 224), { width: 224, height: 224 });
});

test('center crop, BGR→RGB, /255, mean/std, NCHW', async () => {
  const cv = await loadOpenCV();
  // 4x2 frame, no resize needed (shorter side 2), crop 2x2 → columns 1 and 2
  const f = frame(4, 2, (x, y) => [10 * x + y, 100 + x, 200 + y]); // B, G, R
  const mean = [0.5, 0.4, 0.3] as [number, number, number];
  const std = [0.2, 0.25, 0.5] as [number, number, number];
  const out = preprocessFrame(cv, f, { resize: 2, crop: [2, 2], mean, std });
  const expected: number[] = [];
  for (const [c, value] of [
    [0, (_x: number, y: number) => 200 + y],
    [1, (x: number) => 100 + x],
    [2, (x: number, y: number) => 10 * x + y],
  ] as const) {
    for (let y = 0; y < 2; y++) for (let x = 1; x <= 2; x++) expected.push((value(x, y) / 255 - mean[c]!) / std[c]!);
  }
  assert.equal(out.length, 12);
  expected.forEach((e, i) => assert.ok(Math.abs(out[i]! - e) < 1e-5, `${i}: ${out[i]} vs ${e}`));
});

test('shrinking averages pixels (INTER_AREA), so a 2× reduction is the 2×2 block mean', async () => {
  const cv = await loadOpenCV();
  const f = frame(4, 4, (x, y) => [x * 40 + y * 8, 0, 0]);
  const out = preprocessFrame(cv, f, { resize: 2, crop: [2, 2], mean: [0, 0, 0], std: [1, 1, 1] });
  const blue = Array.from(out.subarray(8, 12), (v) => Math.round(v * 255));
  const block = (bx: number, by: number) =>
    (bx * 2 * 40 +
      by * 2 * 8 +
      (bx * 2 + 1) * 40 +
      by * 2 * 8 +
      bx * 2 * 40 +
      (by * 2 + 1) * 8 +
      (bx * 2 + 1) * 40 +
      (by * 2 + 1) * 8) /
    4;
  assert.deepEqual(blue, [block(0, 0), block(1, 0), block(0, 1), block(1, 1)]);
});

test('a frame too small for the crop or with a wrong buffer is refused clearly', async () => {
  const cv = await loadOpenCV();
  assert.throws(
    () =>
      preprocessFrame(
        cv,
        { timestamp: 0, width: 4, height: 4, bgr: Buffer.alloc(5) },
        { resize: 4, crop: [4, 4], mean: [0, 0, 0], std: [1, 1, 1] },
      ),
    /has 5 bytes, expected 48/,
  );
  assert.throws(
    () =>
      preprocessFrame(
        cv,
        frame(4, 4, () => [0, 0, 0]),
        { resize: 4, crop: [5, 4], mean: [0, 0, 0], std: [1, 1, 1] },
      ),
    /smaller than the crop 4x5/,
  );
});

test('image nets share one preprocessing exactly when their blocks are equal: every field is part of the key', () => {
  type Block = Parameters<typeof preprocessKey>[0];
  const block = (): Block => ({
    resize: 256,
    crop: [224, 224],
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
  assert.equal(preprocessKey(block()), preprocessKey(block()), 'equal blocks (different objects) share');
  const variants: Array<[string, (b: Block) => void]> = [
    ['resize', (b) => (b.resize = 232)],
    ['crop height', (b) => (b.crop = [192, 224])],
    ['crop width', (b) => (b.crop = [224, 192])],
    ...[0, 1, 2].map((c): [string, (b: Block) => void] => [`mean[${c}]`, (b) => (b.mean[c] = 0.5)]),
    ...[0, 1, 2].map((c): [string, (b: Block) => void] => [`std[${c}]`, (b) => (b.std[c] = 0.5)]),
  ];
  const keys = new Set([preprocessKey(block())]);
  for (const [field, change] of variants) {
    const b = block();
    change(b);
    const key = preprocessKey(b);
    assert.notEqual(key, preprocessKey(block()), `a different ${field} needs its own preprocessing`);
    keys.add(key);
  }
  assert.equal(keys.size, variants.length + 1, 'no two different blocks share a key');
});

test('provider order: auto keeps what the build offers, explicit lists end with cpu, typos are refused', () => {
  const x64 = [
    { name: 'cpu', bundled: true },
    { name: 'webgpu', bundled: true },
    { name: 'cuda', bundled: false },
    { name: 'tensorrt', bundled: false },
  ];
  const arm64 = [{ name: 'cpu', bundled: true }];
  assert.deepEqual(providerOrder('auto', x64), ['tensorrt', 'cuda', 'cpu']);
  assert.deepEqual(providerOrder('auto', arm64), ['cpu']);
  assert.deepEqual(providerOrder('cuda', arm64), ['cuda', 'cpu']);
  assert.deepEqual(providerOrder('cpu,cuda', x64), ['cpu', 'cuda']);
  assert.throws(() => providerOrder('gpu', x64), /unknown provider "gpu"/);
});
