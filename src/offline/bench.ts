/**
 * `avscene bench`: per-window latency of the engine on a bundle, split by stage, its real-time factor and peak
 * memory, against a naive run in which every fusion model computes its own features and embeddings (one engine
 * per head, run one after another, as a per-model pipeline would).
 */
import os from 'node:os';
import { percentile } from '../util/percentile.js';
import type { WindowFrame } from '../video/frame.js';
import type { Logger } from '../log/logger.js';
import {
  SceneEngine,
  type Bundle,
  type BundleManifest,
  type EngineOptions,
  type SessionInfo,
} from '../inference/index.js';

export interface BenchInput {
  /** 1-s windows to cycle through (48 kHz stereo). */
  windows: Array<{ left: Float32Array; right: Float32Array }>;
  /** Center frame for every window (null = audio only). */
  frame: WindowFrame | null;
}

export interface Stats {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}
export interface BenchReport {
  bundle: string;
  windows: number;
  threads: number;
  lanes: number;
  optimization: string;
  sessions: SessionInfo[];
  /** Per stage, ms: features, preprocess, audio:<net>, image:<net>, heads, fusion, total. */
  latency: Record<string, Stats>;
  /** p50 total / 1000 ms: below 1 keeps up with real time. */
  realTimeFactor: number;
  /**
   * CPU time of the whole process (all threads) per window, ms. Unlike wall time it hardly depends on other load on
   * the machine, so cpuMsPerWindow / (1000 · cores) is the real-time factor the engine would reach on an idle CPU
   * if it kept every core busy (a lower bound).
   */
  cpuMsPerWindow: number;
  idleCpuRtfBound: number;
  /** Peak resident memory of the process after the engine run (before any naive run), MB. */
  peakRssMb: number;
  naive?: {
    bundle: string;
    models: string[];
    /** Sum over models of each window's total latency. */
    latency: Stats;
    perModelP50: Record<string, number>;
    realTimeFactor: number;
    /** naive p50 / engine p50. */
    speedup: number;
  };
}

export function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

/** Runs `warmup` + `count` windows; returns each measured window's timings and the process CPU time they took. */
async function runWindows(
  engine: SceneEngine,
  input: BenchInput,
  count: number,
  warmup: number,
): Promise<{ timings: Array<Record<string, number>>; cpuMs: number }> {
  const timings: Array<Record<string, number>> = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) cpu = process.cpuUsage();
    const audio = input.windows[i % input.windows.length]!;
    const result = await engine.classify({ audio, frame: input.frame });
    if (i >= warmup) timings.push(result.timings);
  }
  const used = process.cpuUsage(cpu);
  return { timings, cpuMs: (used.user + used.system) / 1000 };
}

/** A bundle that holds one head and the nets it uses: one "model" of the naive baseline. */
export function singleHeadBundle(bundle: Bundle, head: string): Bundle {
  const m = bundle.manifest;
  const h = m.heads[head]!;
  const manifest: BundleManifest = {
    ...m,
    name: `${m.name}.${head}`,
    audioNets: h.audioNet ? { [h.audioNet]: m.audioNets[h.audioNet]! } : {},
    imageNets: h.imageNet ? { [h.imageNet]: m.imageNets[h.imageNet]! } : {},
    heads: { [head]: h },
    decision: { method: 'weighted', weights: { [head]: 1 } },
  };
  return { ...bundle, manifest, warnings: [] };
}

export interface BenchOptions extends EngineOptions {
  windows: number;
  warmup: number;
  /** Bundle whose decision heads are the naive baseline's models (default: the benchmarked bundle); null = no naive run. */
  naive: Bundle | null;
  logger: Logger;
}

export async function bench(bundle: Bundle, input: BenchInput, opts: BenchOptions): Promise<BenchReport> {
  const engine = await SceneEngine.create(bundle, opts);
  let run: Awaited<ReturnType<typeof runWindows>>;
  try {
    run = await runWindows(engine, input, opts.windows, opts.warmup);
  } finally {
    await engine.close();
  }
  const { timings } = run;
  const cpuMsPerWindow = run.cpuMs / opts.windows;
  const keys = [...new Set(timings.flatMap((t) => Object.keys(t)))];
  const latency = Object.fromEntries(keys.map((k) => [k, stats(timings.map((t) => t[k] ?? 0))]));
  const report: BenchReport = {
    bundle: `${bundle.manifest.name} ${bundle.manifest.version}`,
    windows: opts.windows,
    threads: opts.threads,
    lanes: opts.lanes ?? 1,
    optimization: opts.optimization ?? 'all',
    sessions: [...engine.sessions],
    latency,
    realTimeFactor: latency.total!.p50 / 1000,
    cpuMsPerWindow,
    idleCpuRtfBound: cpuMsPerWindow / 1000 / os.availableParallelism(),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  if (opts.naive) {
    const naive = opts.naive;
    const models = Object.keys(naive.manifest.decision.weights).filter((h) => naive.manifest.decision.weights[h]! > 0);
    const sums = new Array<number>(opts.windows).fill(0);
    const perModelP50: Record<string, number> = {};
    for (const head of models) {
      const one = await SceneEngine.create(singleHeadBundle(naive, head), {
        ...opts,
        logger: opts.logger.child({ naive: head }),
      });
      try {
        const totals = (await runWindows(one, input, opts.windows, opts.warmup)).timings.map((t) => t.total!);
        totals.forEach((ms, i) => (sums[i]! += ms));
        perModelP50[head] = stats(totals).p50;
      } finally {
        await one.close();
      }
    }
    const naiveStats = stats(sums);
    report.naive = {
      bundle: `${naive.manifest.name} ${naive.manifest.version}`,
      models,
      latency: naiveStats,
      perModelP50,
      realTimeFactor: naiveStats.p50 / 1000,
      speedup: naiveStats.p50 / latency.total!.p50,
    };
  }
  return report;
}

export function benchMarkdown(r: BenchReport): string {
  const f = (x: number) => x.toFixed(1);
  const order = (k: string) =>
    ['features', 'preprocess'].indexOf(k) >= 0
      ? 0
      : k.startsWith('audio:')
        ? 1
        : k.startsWith('image:')
          ? 2
          : k === 'heads'
            ? 3
            : k === 'fusion'
              ? 4
              : 5;
  const keys = Object.keys(r.latency).sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const lines = [
    `Bundle ${r.bundle}: ${r.windows} windows, ${r.threads} threads per session, ${r.lanes} lane(s), graph optimisation ${r.optimization}.`,
    `Sessions: ${r.sessions.map((s) => `${s.key} (${s.provider}, ${s.lane})`).join(', ')}.`,
    '',
    '| stage (ms per window) | p50 | p95 | p99 | mean |',
    '|---|---:|---:|---:|---:|',
    ...keys.map(
      (k) =>
        `| ${k} | ${f(r.latency[k]!.p50)} | ${f(r.latency[k]!.p95)} | ${f(r.latency[k]!.p99)} | ${f(r.latency[k]!.mean)} |`,
    ),
    '',
    `Real-time factor (p50 total / 1 s): **${r.realTimeFactor.toFixed(3)}**. Peak RSS: **${r.peakRssMb.toFixed(0)} MB**.`,
    `CPU time per window (all threads): ${f(r.cpuMsPerWindow)} ms, so on an idle ${os.availableParallelism()}-core CPU the real-time factor is at least ${r.idleCpuRtfBound.toFixed(3)}.`,
    'Nets run in a worker while the main thread computes features, so the stage times can add up to more than the total.',
  ];
  if (r.naive) {
    lines.push(
      '',
      `Naive baseline (${r.naive.bundle}): ${r.naive.models.length} models, each computing its own features and embeddings:`,
      `p50 ${f(r.naive.latency.p50)} ms, p95 ${f(r.naive.latency.p95)} ms per window (RTF ${r.naive.realTimeFactor.toFixed(3)}); ` +
        `the shared engine is **${r.naive.speedup.toFixed(2)}×** faster.`,
      '',
      '| model | p50 ms |',
      '|---|---:|',
      ...Object.entries(r.naive.perModelP50).map(([k, v]) => `| ${k} | ${f(v)} |`),
    );
  }
  return lines.join('\n') + '\n';
}
