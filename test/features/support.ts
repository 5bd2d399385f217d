/** Shared by the feature tests: a WAV encoder for synthetic inputs, the NumPy reference runner, dB comparison. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

export const PYTHON = '/usr/bin/python3';
const REFERENCE = path.join(REPO_ROOT, 'test', 'reference', 'features_ref.py');

/** Null when /usr/bin/python3 with NumPy is usable, else the reason to skip. */
export const NO_NUMPY: string | null = (() => {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (install Debian python3-numpy)`;
  const r = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `NumPy is not importable by ${PYTHON} (install Debian python3-numpy)`;
})();

/** Null when sox (Debian package sox) is on PATH, else the reason to skip. */
export const NO_SOX: string | null =
  spawnSync('sox', ['--version'], { encoding: 'utf8' }).status === 0
    ? null
    : 'sox not found (install the Debian package sox)';

export type SampleFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

export interface WavSpec {
  sampleRate: number;
  channels: ArrayLike<number>[];
  format: SampleFormat;
  /** Write WAVE_FORMAT_EXTENSIBLE instead of the plain format tag. */
  extensible?: boolean;
  /** Chunks written between 'fmt ' and 'data' (e.g. LIST with an odd size, to exercise padding). */
  chunksBeforeData?: Array<{ id: string; body: Buffer }>;
  /** Override the data chunk's size field (e.g. 0xFFFFFFFF as streaming writers do, or a lie). */
  dataSizeField?: number;
}

const BYTES: Record<SampleFormat, number> = { pcm8: 1, pcm16: 2, pcm24: 3, pcm32: 4, float32: 4, float64: 8 };

function chunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, Buffer.alloc(body.length & 1)]);
}

/** A RIFF/WAVE file; integer formats round and clip like a real converter. */
export function encodeWav(spec: WavSpec): Buffer {
  const bytes = BYTES[spec.format];
  const float = spec.format.startsWith('float');
  const channels = spec.channels.length;
  const frames = spec.channels[0]!.length;
  const fmt = Buffer.alloc(spec.extensible ? 40 : 16);
  fmt.writeUInt16LE(spec.extensible ? 0xfffe : float ? 3 : 1, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(spec.sampleRate, 4);
  fmt.writeUInt32LE(spec.sampleRate * channels * bytes, 8);
  fmt.writeUInt16LE(channels * bytes, 12);
  fmt.writeUInt16LE(8 * bytes, 14);
  if (spec.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(8 * bytes, 18);
    fmt.writeUInt32LE(channels === 2 ? 3 : 4, 20);
    // KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: the format tag, then the fixed GUID tail.
    fmt.writeUInt16LE(float ? 3 : 1, 24);
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(fmt, 26);
  }
  const data = Buffer.alloc(frames * channels * bytes);
  const full = 2 ** (8 * bytes - 1);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const v = spec.channels[c]![i]!;
      const at = (i * channels + c) * bytes;
      if (spec.format === 'float32') data.writeFloatLE(v, at);
      else if (spec.format === 'float64') data.writeDoubleLE(v, at);
      else {
        const q = Math.max(-full, Math.min(full - 1, Math.round(v * full)));
        if (bytes === 1) data[at] = q + 128;
        else data.writeIntLE(q, at, bytes);
      }
    }
  }
  const dataChunk = chunk('data', data);
  if (spec.dataSizeField !== undefined) dataChunk.writeUInt32LE(spec.dataSizeField, 4);
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    chunk('fmt ', fmt),
    ...(spec.chunksBeforeData ?? []).map((c) => chunk(c.id, c.body)),
    dataChunk,
  ]);
  return Buffer.concat([chunk('RIFF', body).subarray(0, 8), body]);
}

export function writeWav(file: string, spec: WavSpec): string {
  writeFileSync(file, encodeWav(spec));
  return file;
}

export interface ReferenceJob {
  /** A 48 kHz WAV, or a .npy float32 [2, n] at 48 kHz. */
  input: string;
  kinds: string[];
  mode: 'clip' | 'window';
  /** Output prefix: the reference writes PREFIX.<kind>.npy (float64). */
  out: string;
}

/** Runs the float64 NumPy reference (test/reference/features_ref.py) on all jobs in one process. */
export function runReference(jobs: ReferenceJob[], dir: string): void {
  const jobsFile = path.join(dir, 'reference-jobs.json');
  writeFileSync(jobsFile, JSON.stringify(jobs));
  const r = spawnSync(PYTHON, [REFERENCE, 'run', jobsFile], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`NumPy reference failed (${r.status}): ${r.stderr}`);
}

/** Reads a .npy written by NumPy (float64 or float32, C order). */
export function readNumpy(file: string): { shape: number[]; data: Float64Array } {
  const buf = readFileSync(file);
  const headerLength = buf.readUInt16LE(8);
  const dict = buf.toString('latin1', 10, 10 + headerLength);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(dict)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(10 + headerLength);
  const data = new Float64Array(count);
  const f8 = /'descr':\s*'<f8'/.test(dict);
  for (let i = 0; i < count; i++) data[i] = f8 ? body.readDoubleLE(8 * i) : body.readFloatLE(4 * i);
  return { shape, data };
}

export interface DbComparison {
  /** Largest |ours − reference| over the compared values, dB. */
  maxError: number;
  /** How many values lie above (reference max − 80 dB) and were compared. */
  compared: number;
  /** Index of the worst value. */
  worst: number;
}

/** The spec's accuracy rule: compare every value above (max of the reference − 80 dB). */
export function compareDb(ours: ArrayLike<number>, reference: ArrayLike<number>): DbComparison {
  if (ours.length !== reference.length) throw new Error(`length ${ours.length} vs reference ${reference.length}`);
  let max = -Infinity;
  for (let i = 0; i < reference.length; i++) max = Math.max(max, reference[i]!);
  let maxError = 0;
  let compared = 0;
  let worst = -1;
  for (let i = 0; i < reference.length; i++) {
    if (reference[i]! <= max - 80) continue;
    compared++;
    const e = Math.abs(ours[i]! - reference[i]!);
    if (e > maxError || Number.isNaN(e)) {
      maxError = Number.isNaN(e) ? Infinity : e;
      worst = i;
    }
  }
  return { maxError, compared, worst };
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
