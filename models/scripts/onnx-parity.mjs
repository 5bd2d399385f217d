#!/usr/bin/env node
// ONNX/PyTorch parity: runs each exported ONNX file in onnxruntime-node on the inputs PyTorch saw and prints
// {file: max abs difference} as JSON. Input: a directory with parity.json (written by avscene_models/export.py)
// and raw little-endian float32 tensors (.bin). Also importable: maxAbsDiffs(dir).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

async function tensorFrom(dir, { shape, bin }) {
  const buf = await readFile(path.join(dir, bin));
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new ort.Tensor('float32', Float32Array.from(data), shape);
}

export async function maxAbsDiffs(dir) {
  const checks = JSON.parse(await readFile(path.join(dir, 'parity.json'), 'utf8'));
  const result = {};
  for (const check of checks) {
    const session = await ort.InferenceSession.create(check.file, { intraOpNumThreads: 1 });
    try {
      const feeds = {};
      for (const [name, t] of Object.entries(check.inputs)) feeds[name] = await tensorFrom(dir, t);
      const outputs = await session.run(feeds);
      let worst = 0;
      for (const [name, t] of Object.entries(check.outputs)) {
        const expected = (await tensorFrom(dir, t)).data;
        const got = outputs[name]?.data;
        if (!got || got.length !== expected.length) throw new Error(`${check.file}: output ${name} has the wrong size`);
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
      }
      result[check.file] = worst;
    } finally {
      await session.release();
    }
  }
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: onnx-parity.mjs PARITY_DIR');
    process.exit(64);
  }
  maxAbsDiffs(dir).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
