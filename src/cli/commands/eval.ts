import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { createLogger } from '../../log/logger.js';
import { engineOptions, loadBundle, SceneEngine } from '../../inference/index.js';
import { DEFAULT_SPLIT, evaluate, reportMarkdown, type EvalReport } from '../../offline/evaluate.js';
import { writeConfusionPng } from '../../offline/confusion-png.js';
import { ProgressLine } from '../progress.js';

export const command: Command = {
  name: 'eval',
  help: `Usage: avscene eval DATASET [--bundle DIR] [--split FILE] [--out DIR] [--config FILE]

Runs every clip of a split through exactly the daemon's pipeline (1-s windows, features, the bundle's engine,
the video frame at the middle of each window) and scores each 1-second segment as DCASE2021 Task 1b does:
log loss and accuracy, overall and per class, and the confusion matrix. Clips whose video file is missing are
classified from their audio (the bundle's audio fallback heads, if any) and counted.

Arguments:
  DATASET             folder in the TAU Urban Audio-Visual Scenes layout: audio/, video/, meta.csv,
                      ${DEFAULT_SPLIT} (tab-separated: filename_audio, filename_video, scene_label)

Options:
      --bundle DIR    model bundle directory (default: model.bundle, the demo bundle)
      --split FILE    list of clips to score, relative to DATASET (default: ${DEFAULT_SPLIT})
      --out DIR       write metrics.json, metrics.md and confusion.png there (default: print Markdown only)
      --json          print the JSON report instead of Markdown
${configOptionsHelp}

Example:
  avscene eval /data/TAU-urban-audio-visual-scenes-2021-development --bundle models/bundles/demo-audio --out eval/`,
  options: {
    ...configOptions,
    bundle: { type: 'string' },
    split: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError(`give exactly one dataset folder\n\n${this.help}`);
    const { config } = loadConfigFromFlags(values, values.bundle ? { 'model.bundle': values.bundle } : {});
    const logger = createLogger(process.env.AVSCENE_LOG_LEVEL ?? 'warn', 'avscene-eval', 2);
    const bundle = await loadBundle(config.model.bundle, { publicKey: config.model.publicKey });
    const engine = await SceneEngine.create(bundle, engineOptions(config.inference, logger));
    const progress = new ProgressLine();
    let report: EvalReport;
    try {
      report = await evaluate(engine, {
        datasetDir: positionals[0]!,
        ...(values.split ? { split: values.split as string } : {}),
        logger,
        onClip: (done, total, item) => progress.update(`[${done}/${total}] ${item.audio}`),
      });
      progress.done();
    } finally {
      await engine.close();
    }
    const markdown = reportMarkdown(report);
    if (values.out) {
      const out = values.out as string;
      await mkdir(out, { recursive: true });
      await writeFile(path.join(out, 'metrics.json'), JSON.stringify(report, null, 2) + '\n');
      await writeFile(path.join(out, 'metrics.md'), markdown);
      await writeConfusionPng(
        path.join(out, 'confusion.png'),
        report.classes,
        report.confusion,
        `${report.bundle.name} ${report.bundle.version}: ${report.segments} segments, accuracy ${(report.accuracy * 100).toFixed(1)} %, log loss ${report.logLoss.toFixed(3)}`,
      );
      process.stderr.write(`wrote ${path.join(out, 'metrics.json')}, metrics.md, confusion.png\n`);
    }
    console.log(values.json ? JSON.stringify(report, null, 2) : markdown);
    return 0;
  },
};
