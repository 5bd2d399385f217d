import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config-flags.js';
import { createLogger } from '../../log/logger.js';
import { engineOptions, loadBundle, planFor, SceneEngine } from '../../inference/index.js';
import { clipWindows } from '../../offline/clip-windows.js';
import { InvalidWindowError, SceneLabeler } from '../../pipeline/scene-labeler.js';
import { videoWanted } from '../../capture/index.js';
import { VideoProcessKeeper } from '../../capture/video-file.js';
import { toClassDecision } from '../../publish/payload.js';
import { WAV_INPUT } from '../../audio/wav.js';

export const command: Command = {
  name: 'classify',
  help: `Usage: avscene classify AUDIO.wav [--video CLIP] [--bundle DIR] [--json] [--config FILE]

Classifies a recording with exactly the daemon's pipeline (same windows, features, model and fusion), as fast as the
machine allows. Prints one line per 1-second window, then a summary for the whole clip (the mean of the windows'
probabilities). A trailing part shorter than one second is not classified, unless it lacks at most 10 ms (then it is
completed with zeros).

Arguments:
  AUDIO.wav             ${WAV_INPUT}

Options:
      --video CLIP      video file whose frame at the middle of each window is the image input
      --bundle DIR      model bundle directory (default: model.bundle, the demo bundle)
      --json            one JSON object per line instead of text: the scene message of each window, with "window"
                        as its position in the file in seconds ({"start": 3, "end": 4}), then {"summary": …}
${configOptionsHelp}`,
  options: { ...configOptions, video: { type: 'string' }, bundle: { type: 'string' }, json: { type: 'boolean' } },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError(`give exactly one audio file\n\n${this.help}`);
    const [audioFile] = positionals as [string];
    const video = values.video as string | undefined;
    const { config } = loadConfigFromFlags(values, {
      'audio.source': 'file',
      'audio.file': audioFile,
      'audio.loop': false,
      'video.source': video ? 'file' : 'none',
      'video.file': video ?? '',
      'video.loop': false,
      'sources.realtime': false,
      ...(values.bundle ? { 'model.bundle': values.bundle } : {}),
    });
    // Logs go to stderr so stdout stays machine-readable.
    const logger = createLogger(process.env.AVSCENE_LOG_LEVEL ?? 'warn', 'avscene-classify', 2);
    const bundle = await loadBundle(config.model.bundle, { publicKey: config.model.publicKey });
    const usesVideo =
      video !== undefined &&
      videoWanted(
        'file',
        { name: bundle.manifest.name, usesImages: planFor(bundle.manifest).imageNets.length > 0 },
        logger,
      );
    // The video process starts (and loads OpenCV) now, while the sessions open.
    const processes = usesVideo ? new VideoProcessKeeper() : undefined;
    processes?.take();
    const engine = await SceneEngine.create(bundle, engineOptions(config.inference, logger)).catch(async (err) => {
      await processes?.close();
      throw err;
    });
    const labeler = new SceneLabeler(engine, bundle, 'classify', config.inference.smoothing);
    const classes = bundle.manifest.classes;
    const sum = new Float64Array(classes.length);
    let windows = 0;
    let skipped = 0;
    try {
      // Inside the try: a video that cannot be opened must still close the engine, whose worker keeps the process alive.
      const files = {
        audio: config.audio.file,
        video: usesVideo ? config.video.file : null,
        logger,
        preprocess: engine.imagePreprocess,
        processes,
      };
      for await (const { window, frame } of clipWindows(files)) {
        let message: Awaited<ReturnType<SceneLabeler['label']>>;
        try {
          message = await labeler.label(window, frame);
        } catch (err) {
          if (!(err instanceof InvalidWindowError)) throw err;
          logger.warn(err.message);
          skipped++;
          continue;
        }
        const { timings: _timings, device: _device, latencyMs: _latency, window: _wallClock, ...shown } = message;
        classes.forEach((c: string, i: number) => (sum[i]! += message.probs[c]!));
        windows++;
        // Where the window lies in the recording: the wall clock of an offline run says nothing about it.
        const offset = window.mediaOffset;
        if (values.json) console.log(JSON.stringify({ window: { start: offset, end: offset + 1 }, ...shown }));
        else
          console.log(
            `${fmtTime(offset)}–${fmtTime(offset + 1)}  ${shown.label.padEnd(18)} ${pct(shown.confidence)}  [${shown.modalities.join('+')}${shown.degraded ? ', degraded' : ''}]`,
          );
      }
    } finally {
      await Promise.all([engine.close(), processes?.close()]);
    }
    if (windows === 0)
      throw new Error(`${audioFile}: no whole 1-second window to classify (the recording is shorter than 1 s)`);
    const summary = {
      file: audioFile,
      windows,
      skipped,
      ...toClassDecision(
        classes,
        Array.from(sum, (x) => x / windows),
      ),
    };
    if (values.json) console.log(JSON.stringify({ summary }));
    else
      console.log(
        `clip: ${summary.label} ${pct(summary.confidence)} over ${windows} window(s)${skipped ? `, ${skipped} skipped` : ''}`,
      );
    return 0;
  },
};

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
const fmtTime = (s: number) => `${Math.floor(s / 60)}:${(s % 60).toFixed(0).padStart(2, '0')}`;
