/**
 * Feature benchmark (not a test): time per 1-s stereo window for each kind and for all three together (one shared
 * STFT), against the float64 NumPy reference (test/reference/features_ref.py) on the same window, same machine,
 * same run; then RSS over 10,000 windows. Single-threaded on both sides (OPENBLAS_NUM_THREADS=1 for NumPy).
 * The window is a real TAU recording from the shared data; without it the benchmark stops (its figures would not be
 * those of BENCHMARKS.md) unless --synthetic asks for noise and tones, which the output then says in capitals.
 *
 *   node --import tsx test/bench/features.bench.ts [--windows 10000] [--synthetic]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeWav } from '../../src/audio/index.js';
import { FEATURE_KINDS, FeatureExtractor, type FeatureKind } from '../../src/features/index.js';
import { writeNpy } from '../../src/features/npy.js';
import { HAS_SHARED_DATA, REPO_ROOT, SHARED_DATA } from '../helpers/paths.js';

const { values } = parseArgs({
  options: {
    windows: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '300' },
    synthetic: { type: 'boolean', default: false },
  },
});
const RSS_WINDOWS = Number(values.windows);
const REPS = Number(values.reps);

/** A real 1-s window (second 3 of a TAU clip); deterministic noise and tones only when --synthetic asks for them. */
function benchWindow(): { left: Float32Array; right: Float32Array; source: string } {
  if (!values.synthetic) {
    if (!HAS_SHARED_DATA) {
      console.error(
        `features benchmark: the real TAU recordings are not at ${SHARED_DATA}; BENCHMARKS.md's figures are for a real window. ` +
          'Set AVSCENE_SHARED_DATA to the shared data folder, or pass --synthetic to time noise and tones (not comparable).',
      );
      process.exit(1);
    }
    const dir = path.join(SHARED_DATA, 'tau-av-2021-sample', 'audio');
    const file = path.join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.wav'))
        .sort()[0]!,
    );
    const audio = decodeWav(readFileSync(file), file);
    return {
      left: audio.channels[0]!.slice(3 * 48000, 4 * 48000),
      right: audio.channels[1]!.slice(3 * 48000, 4 * 48000),
      source: path.basename(file),
    };
  }
  let seed = 1;
  const rnd = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647) * 2 - 1;
  };
  const make = (): Float32Array => Float32Array.from({ length: 48000 }, (_, i) => 0.1 * rnd() + 0.2 * Math.sin(i / 9));
  return {
    left: make(),
    right: make(),
    source: 'SYNTHETIC noise + tone (--synthetic): not comparable with BENCHMARKS.md',
  };
}

/** The commit measured, for BENCHMARKS.md ("+ uncommitted changes" when the tree differs from it). */
function commit(): string {
  const head = spawnSync('git', ['log', '-1', '--format=%h %cd', '--date=short'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty =
    spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' + uncommitted changes' : ''}`;
}

interface Timing {
  wallMedian: number;
  cpuMean: number;
}

function timeWindows(kinds: readonly FeatureKind[], left: Float32Array, right: Float32Array): Timing {
  const extractor = new FeatureExtractor(kinds);
  for (let i = 0; i < 50; i++) extractor.window(left, right);
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    extractor.window(left, right);
    wall.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  wall.sort((a, b) => a - b);
  return { wallMedian: wall[wall.length >> 1]!, cpuMean: (cpu.user + cpu.system) / 1000 / REPS };
}

function numpyTimings(left: Float32Array, right: Float32Array): Record<string, number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'avscene-bench-'));
  const file = path.join(dir, 'window.npy');
  const stereo = new Float32Array(2 * 48000);
  stereo.set(left);
  stereo.set(right, 48000);
  writeNpy(file, stereo, [2, 48000]);
  const r = spawnSync(
    '/usr/bin/python3',
    [
      path.join(REPO_ROOT, 'test', 'reference', 'features_ref.py'),
      'bench',
      file,
      String(Math.max(30, Math.round(REPS / 3))),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    },
  );
  if (r.status !== 0) throw new Error(`NumPy reference benchmark failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

const { left, right, source } = benchWindow();
const sets: Array<[string, readonly FeatureKind[]]> = [
  ...FEATURE_KINDS.map((k) => [k, [k]] as [string, FeatureKind[]]),
  ['all', FEATURE_KINDS],
];

console.log(
  `commit ${commit()}; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`window: ${source}; ${REPS} windows per measurement (median wall ms; mean CPU ms)`);
// Node, NumPy, Node again: the machine is shared, so each side is measured between runs of the other.
const nodeFirst = Object.fromEntries(sets.map(([name, kinds]) => [name, timeWindows(kinds, left, right)]));
const numpy = numpyTimings(left, right);
const nodeSecond = Object.fromEntries(sets.map(([name, kinds]) => [name, timeWindows(kinds, left, right)]));

const n = (key: string): number => numpy[key]!;
const rows = sets.map(([name]) => {
  const wall = Math.min(nodeFirst[name]!.wallMedian, nodeSecond[name]!.wallMedian);
  const cpu = Math.min(nodeFirst[name]!.cpuMean, nodeSecond[name]!.cpuMean);
  return {
    kind: name,
    wall,
    cpu,
    dense: n(`dense_${name}`),
    denseCpu: n(`dense_${name}_cpu`),
    sparse: n(`sparse_${name}`),
    sparseCpu: n(`sparse_${name}_cpu`),
  };
});
const f = (v: number): string => v.toFixed(2);
console.log('\nms per 1-s stereo window, wall median (CPU mean); ratio = Node / NumPy');
console.log('| features | Node | NumPy reference (rfft + dense matmul) | ratio | NumPy/SciPy sparse (CSR) | ratio |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.kind} | ${f(r.wall)} (${f(r.cpu)}) | ${f(r.dense)} (${f(r.denseCpu)}) | ${f(r.wall / r.dense)} (${f(r.cpu / r.denseCpu)}) | ` +
      `${f(r.sparse)} (${f(r.sparseCpu)}) | ${f(r.wall / r.sparse)} (${f(r.cpu / r.sparseCpu)}) |`,
  );
}
console.log(`NumPy STFT alone (np.fft.rfft, 2 channels × 6 frames): ${f(n('stft'))} (${f(n('stft_cpu'))}) ms`);

// Memory: RSS over many windows of all three kinds (outputs are reused, nothing should grow).
const extractor = new FeatureExtractor(FEATURE_KINDS);
const rss: Array<[number, number]> = [];
const mb = (): number => process.memoryUsage().rss / 2 ** 20;
const started = performance.now();
for (let i = 1; i <= RSS_WINDOWS; i++) {
  extractor.window(left, right);
  if (i === 100 || i % Math.max(1, Math.floor(RSS_WINDOWS / 10)) === 0) rss.push([i, mb()]);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `\nRSS over ${RSS_WINDOWS} windows (all three kinds): ${rss.map(([i, m]) => `${i}: ${m.toFixed(1)} MB`).join(', ')}`,
);
console.log(
  `growth from window 100 to ${RSS_WINDOWS}: ${(rss[rss.length - 1]![1] - rss[0]![1]).toFixed(1)} MB; ${((seconds * 1000) / RSS_WINDOWS).toFixed(2)} ms per window over the run`,
);
