import { inputFileProblem } from '../../util/input-file.js';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { DEMO_CLIP } from '../../util/package-info.js';
import { createLogger } from '../../log/logger.js';
import type { VideoFrame, WindowFrame } from '../../video/frame.js';
import { loadBundle } from '../../inference/index.js';
import { bench, benchMarkdown, type BenchInput } from '../../offline/bench.js';
import { clipWindows } from '../../offline/clip-windows.js';
import type { Optimization } from '../../inference/session-lane.js';

export const command: Command = {
  name: 'bench',
  help: `Usage: avscene bench [--bundle DIR] [--windows N] [--naive DIR | --no-naive] [options]

Runs the inference engine on N one-second windows and reports the latency per window (p50/p95/p99) split into
features, image preprocessing, each audio net, each image net, heads and fusion; the real-time factor (p50 total
/ 1 s); and peak RSS. Then, as a baseline, runs every fusion model of the bundle (or of --naive DIR) on its own,
each computing its own features and embeddings, and reports how much faster the shared engine is.

Options:
      --bundle DIR      bundle to measure (default: model.bundle, the demo bundle)
      --windows N       measured windows (default 20), after --warmup N (default 2)
      --naive DIR       bundle whose heads are the naive baseline's models (default: the measured bundle)
      --no-naive        skip the naive baseline
      --audio WAV       audio to cut into windows (default: the demo clip)
      --video FILE      take the image from this video (default: a synthetic 1280x720 frame)
      --lanes 1|2       worker threads for sessions (default 1; 2 runs image nets beside audio nets)
      --optimization L  ONNX Runtime graph optimisation: disabled, basic, extended, all (default all)
      --json            print the JSON report
      --out FILE        also write the Markdown report to FILE
${configOptionsHelp}
Threads per session come from inference.threads (0 = one per core: --set inference.threads=1).

Example:
  avscene bench --bundle models/work/bench-system3 --naive models/work/bench-report12 --windows 20`,
  options: {
    ...configOptions,
    bundle: { type: 'string' },
    windows: { type: 'string' },
    warmup: { type: 'string' },
    naive: { type: 'string' },
    'no-naive': { type: 'boolean' },
    audio: { type: 'string' },
    video: { type: 'string' },
    lanes: { type: 'string' },
    optimization: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
  },
  async run(values) {
    const { config } = loadConfigFromFlags(values, values.bundle ? { 'model.bundle': values.bundle } : {});
    const count = (name: string, dflt: number, min: number) => {
      const v = values[name] === undefined ? dflt : Number(values[name]);
      if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}`);
      return v;
    };
    const windows = count('windows', 20, 1);
    const warmup = count('warmup', 2, 0);
    const lanes = count('lanes', 1, 1);
    if (lanes > 2) throw new UsageError('--lanes must be 1 or 2');
    const optimization = (values.optimization ?? 'all') as Optimization;
    if (!['disabled', 'basic', 'extended', 'all'].includes(optimization))
      throw new UsageError('--optimization must be disabled, basic, extended or all');
    const logger = createLogger(process.env.AVSCENE_LOG_LEVEL ?? 'warn', 'avscene-bench', 2);

    const audioProblem = values.audio === undefined ? null : inputFileProblem(values.audio as string);
    if (audioProblem !== null) throw new UsageError(`--audio ${values.audio} ${audioProblem}`);
    const bundle = await loadBundle(config.model.bundle, { publicKey: config.model.publicKey });
    const naive = values['no-naive'] ? null : values.naive ? await loadBundle(values.naive as string) : bundle;
    const input = await benchInput(
      (values.audio as string | undefined) ?? DEMO_CLIP,
      values.video as string | undefined,
      logger,
    );
    const threads = config.inference.threads > 0 ? config.inference.threads : os.availableParallelism();
    const report = await bench(bundle, input, {
      providers: config.inference.providers,
      threads,
      lanes: lanes as 1 | 2,
      optimization,
      logger,
      windows,
      warmup,
      naive,
    });
    const markdown = benchMarkdown(report);
    if (values.out) await writeFile(values.out as string, markdown);
    console.log(values.json ? JSON.stringify(report, null, 2) : markdown);
    return 0;
  },
};

async function benchInput(
  audioFile: string,
  videoFile: string | undefined,
  logger: ReturnType<typeof createLogger>,
): Promise<BenchInput> {
  const windows: BenchInput['windows'] = [];
  let firstFrame: WindowFrame | null | undefined;
  for await (const { window, frame } of clipWindows({ audio: audioFile, video: videoFile ?? null, logger })) {
    firstFrame ??= frame;
    windows.push({ left: window.left, right: window.right });
  }
  if (firstFrame === undefined) throw new UsageError(`${audioFile} is shorter than one second`);
  return { windows, frame: videoFile ? firstFrame : syntheticFrame(1280, 720) };
}

/** A deterministic textured test frame (gradients + pseudo-random noise), so timings do not depend on a file. */
function syntheticFrame(width: number, height: number): VideoFrame {
  const bgr = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) & 63;
      bgr[i++] = (x * 255) / width / 2 + noise;
      bgr[i++] = (y * 255) / height / 2 + noise;
      bgr[i++] = ((x + y) * 255) / (width + height) / 2 + noise;
    }
  }
  return { timestamp: 0.5, width, height, bgr };
}
