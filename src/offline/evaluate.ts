/**
 * `avscene eval`: a bundle measured on a dataset in the TAU Urban Audio-Visual Scenes layout, through exactly the
 * daemon's pipeline (file audio source → engine, file video source for the center frames).
 *
 * Scores are per 1-s segment, as in DCASE2021 Task 1b: multi-class log loss (−ln p(true class), p clipped to
 * [1e-15, 1]) and accuracy, pooled over all segments, class-averaged (per class, then the mean over the classes that
 * have segments: DCASE's official figure, the toolkit's "DCASE" columns) and per class, plus the confusion matrix
 * (rows = true class).
 * A clip is cut into 1-s segments exactly as the daemon cuts a file (a trailing part shorter than 1 s is not scored,
 * so a "10-s" clip one sample short gives 9 segments), which is also how the toolkit scores the bundle it exports.
 */
import { existsSync } from 'node:fs';
import { readInputFile } from '../util/input-file.js';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { argmax } from '../fusion/index.js';
import type { SceneEngine } from '../inference/index.js';
import { clipWindows } from './clip-windows.js';
import { VideoProcessKeeper } from '../capture/video-file.js';

export const DEFAULT_SPLIT = path.join('evaluation_setup', 'fold1_evaluate.csv');
const P_MIN = 1e-15;

export interface DatasetItem {
  audio: string;
  video: string | null;
  label: string;
}

/** Reads a tab-separated TAU list (header with filename_audio, scene_label and optionally filename_video). */
export async function readSplit(datasetDir: string, splitFile = DEFAULT_SPLIT): Promise<DatasetItem[]> {
  const file = path.resolve(datasetDir, splitFile);
  let text: string;
  try {
    text = (await readInputFile(file)).toString('utf8');
  } catch (err) {
    throw new Error(
      `${(err as Error).message}: DATASET must be a folder in the TAU layout (audio/, video/, meta.csv, ${DEFAULT_SPLIT}), or pass --split FILE`,
    );
  }
  const [header, ...rows] = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const cols = (header ?? '').split('\t');
  const ia = cols.indexOf('filename_audio');
  const iv = cols.indexOf('filename_video');
  const il = cols.indexOf('scene_label');
  if (ia < 0 || il < 0)
    throw new Error(`${file}: expected a tab-separated header with filename_audio and scene_label, got "${header}"`);
  return rows.map((row, n) => {
    const f = row.split('\t');
    if (!f[ia] || !f[il]) throw new Error(`${file}:${n + 2}: missing filename_audio or scene_label`);
    return { audio: f[ia]!, video: iv >= 0 && f[iv] ? f[iv]! : null, label: f[il]! };
  });
}

export interface ClassScore {
  n: number;
  accuracy: number;
  logLoss: number;
}
export interface EvalReport {
  bundle: { name: string; version: string };
  dataset: string;
  split: string;
  segments: number;
  clips: number;
  /** Clips whose video file is missing (their segments are classified from audio alone). */
  missingVideos: number;
  /** Segments classified without an image although the bundle uses images (video missing or shorter than the audio). */
  imagelessSegments: number;
  /** Segments whose result was degraded (see SceneResult.degraded). */
  degradedSegments: number;
  /** Pooled over all segments. */
  logLoss: number;
  accuracy: number;
  /** DCASE 2021 Task 1b's figure: per class, then the unweighted mean over the classes that have segments. */
  classAverage: { logLoss: number; accuracy: number; classes: number };
  perClass: Record<string, ClassScore>;
  classes: string[];
  /** confusion[true][predicted], segment counts. */
  confusion: number[][];
  /** Clip-level accuracy: argmax of the mean of a clip's segment probabilities. */
  clipAccuracy: number;
}

/** Running scores over segments. */
export class ScoreBoard {
  private readonly confusion: number[][];
  private readonly lossSum: number[];
  private segments = 0;

  constructor(readonly classes: readonly string[]) {
    this.confusion = classes.map(() => classes.map(() => 0));
    this.lossSum = classes.map(() => 0);
  }

  add(trueIndex: number, probs: ArrayLike<number>): void {
    this.confusion[trueIndex]![argmax(probs)]!++;
    this.lossSum[trueIndex]! -= Math.log(Math.min(1, Math.max(P_MIN, probs[trueIndex]!)));
    this.segments++;
  }

  summary(): Pick<EvalReport, 'segments' | 'logLoss' | 'accuracy' | 'classAverage' | 'perClass' | 'confusion'> {
    const perClass: Record<string, ClassScore> = {};
    let correct = 0;
    let loss = 0;
    this.classes.forEach((c, i) => {
      const n = this.confusion[i]!.reduce((a, b) => a + b, 0);
      correct += this.confusion[i]![i]!;
      loss += this.lossSum[i]!;
      if (n > 0) perClass[c] = { n, accuracy: this.confusion[i]![i]! / n, logLoss: this.lossSum[i]! / n };
    });
    const n = this.segments;
    const scored = Object.values(perClass);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    return {
      segments: n,
      logLoss: n ? loss / n : NaN,
      accuracy: n ? correct / n : NaN,
      classAverage: {
        logLoss: mean(scored.map((c) => c.logLoss)),
        accuracy: mean(scored.map((c) => c.accuracy)),
        classes: scored.length,
      },
      perClass,
      confusion: this.confusion.map((r) => [...r]),
    };
  }
}

export interface EvalOptions {
  datasetDir: string;
  split?: string;
  logger: Logger;
  onClip?: (done: number, total: number, item: DatasetItem) => void;
}

export async function evaluate(engine: SceneEngine, opts: EvalOptions): Promise<EvalReport> {
  const { datasetDir, logger } = opts;
  const split = opts.split ?? DEFAULT_SPLIT;
  const items = await readSplit(datasetDir, split);
  const classes = [...engine.classes];
  const unknown = [...new Set(items.map((i) => i.label).filter((l) => !classes.includes(l)))];
  if (unknown.length > 0)
    throw new Error(
      `the dataset has classes the bundle does not know: ${unknown.join(', ')} (bundle classes: ${classes.join(', ')})`,
    );
  const board = new ScoreBoard(classes);
  const usesImages = engine.plan.imageNets.length > 0;
  let missingVideos = 0;
  let degradedSegments = 0;
  let imagelessSegments = 0;
  let clipsCorrect = 0;
  // One video process for all clips: each clip's video opens in it (OpenCV loaded once, not per clip).
  const processes = new VideoProcessKeeper();
  const preprocess = engine.imagePreprocess;
  try {
    for (const [k, item] of items.entries()) {
      const trueIndex = classes.indexOf(item.label);
      const videoPath = item.video ? path.resolve(datasetDir, item.video) : null;
      let video: string | null = null;
      if (usesImages && videoPath && existsSync(videoPath)) {
        video = videoPath;
      } else if (usesImages) {
        missingVideos++;
        logger.warn({ clip: item.audio, video: item.video }, 'video missing: segments classified without an image');
      }
      const clipSum = new Float64Array(classes.length);
      const clip = { audio: path.resolve(datasetDir, item.audio), video, logger, preprocess, processes };
      for await (const { window, frame } of clipWindows(clip)) {
        const result = await engine.classify({ audio: { left: window.left, right: window.right }, frame });
        board.add(trueIndex, result.probs);
        result.probs.forEach((p, c) => (clipSum[c]! += p));
        if (result.degraded) degradedSegments++;
        if (usesImages && !result.modalities.includes('image')) imagelessSegments++;
      }
      if (argmax(clipSum) === trueIndex) clipsCorrect++;
      opts.onClip?.(k + 1, items.length, item);
    }
  } finally {
    await processes.close();
  }
  const m = engine.manifest;
  return {
    bundle: { name: m.name, version: m.version },
    dataset: path.resolve(datasetDir),
    split,
    clips: items.length,
    missingVideos,
    imagelessSegments,
    degradedSegments,
    ...board.summary(),
    classes,
    clipAccuracy: items.length ? clipsCorrect / items.length : NaN,
  };
}

/** The report as Markdown (for people; the JSON is for machines). */
export function reportMarkdown(r: EvalReport): string {
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const lines = [
    `# Evaluation of ${r.bundle.name} ${r.bundle.version}`,
    '',
    `Dataset \`${r.dataset}\`, split \`${r.split}\`: ${plural(r.clips, 'clip')}, ${plural(r.segments, 'one-second segment')}` +
      (r.missingVideos ? `, ${plural(r.missingVideos, 'clip')} without their video` : '') +
      (r.imagelessSegments ? `, ${plural(r.imagelessSegments, 'segment')} classified without an image` : '') +
      (r.degradedSegments ? `, ${plural(r.degradedSegments, 'degraded segment')}` : '') +
      '.',
    '',
    `| metric | value |`,
    `|---|---|`,
    `| log loss, class-averaged (DCASE) | ${f(r.classAverage.logLoss)} |`,
    `| accuracy, class-averaged (DCASE) | ${f(r.classAverage.accuracy * 100, 1)} % |`,
    `| log loss, pooled over segments | ${f(r.logLoss)} |`,
    `| accuracy, pooled over segments | ${f(r.accuracy * 100, 1)} % |`,
    `| accuracy (per clip, mean of segments) | ${f(r.clipAccuracy * 100, 1)} % |`,
    '',
    '| class | segments | accuracy | log loss |',
    '|---|---:|---:|---:|',
    ...Object.entries(r.perClass).map(([c, s]) => `| ${c} | ${s.n} | ${f(s.accuracy * 100, 1)} % | ${f(s.logLoss)} |`),
    '',
    'Confusion matrix (rows: true class, columns: predicted):',
    '',
    `| | ${r.classes.join(' | ')} |`,
    `|---|${r.classes.map(() => '---:').join('|')}|`,
    ...r.classes.map((c, i) => `| **${c}** | ${r.confusion[i]!.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
