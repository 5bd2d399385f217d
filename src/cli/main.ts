#!/usr/bin/env node
/** `avscene <command>`: dispatches to the command modules in ./commands. */
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { ConfigError } from '../config/load.js';
import { maskSecrets } from '../config/secrets.js';
import { printError } from '../log/journal.js';
import { EX_USAGE, EXIT_FAILURE, EXIT_OK } from '../util/exit-codes.js';
import { packageVersion as version } from '../util/package-info.js';

// ONNX Runtime's telemetry (1DS) otherwise writes a device id and an event database to
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime (for the service: /var/lib/avscene/.cache). Set before any command
// loads it; its worker threads share this environment.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

const loaders: Record<string, () => Promise<{ command: Command }>> = {
  run: () => import('./commands/run.js'),
  classify: () => import('./commands/classify.js'),
  features: () => import('./commands/features.js'),
  eval: () => import('./commands/eval.js'),
  bench: () => import('./commands/bench.js'),
  watch: () => import('./commands/watch.js'),
  config: () => import('./commands/config.js'),
  bundle: () => import('./commands/bundle.js'),
  reload: () => import('./commands/reload.js'),
  forget: () => import('./commands/forget.js'),
};

/** One line per command for `avscene --help` (here, so the help loads no command module). */
const summaries: Record<string, string> = {
  run: 'run the daemon: capture, classify every 1-s window, publish labels over MQTT',
  classify: 'classify a WAV (and optional video) offline: one line per 1-s window (JSON with --json), then a summary',
  features: 'compute log-mel / Bark / scalogram features of WAV files as .npy (also used by the training toolkit)',
  eval: 'evaluate a bundle on a dataset in the TAU layout: log loss, accuracy, per class, confusion matrix',
  bench: 'measure per-window latency, real-time factor and memory of a bundle on this machine',
  watch: 'subscribe to a broker and print the labels devices publish',
  config: 'print the effective configuration (secrets masked)',
  bundle: 'install, roll back and list model bundles on a device (signed, atomic, the daemon swaps without a restart)',
  reload: 'make the running daemon swap to the bundle model.bundle now names, between two windows',
  forget: "clear a retired device's retained topics and Home Assistant entities from the broker",
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(summaries).map((name) => name.length));
  return [
    `avscene ${version()} — tells what kind of place a device is in from its microphone and camera, over MQTT`,
    '',
    'Usage: avscene <command> [options]     (avscene <command> --help for details)',
    '',
    'Commands:',
    ...Object.entries(summaries).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Documentation: README.md (configuration, MQTT topics and payloads, deployment).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name === undefined ? EX_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-v') {
    console.log(version());
    return EXIT_OK;
  }
  const load = loaders[name];
  if (!load) throw new UsageError(`unknown command "${name}"\n\n${mainHelp()}`);
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return EXIT_OK;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: negativeValuesJoined(rest, command.options),
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${command.help}`);
  }
  return command.run(parsed.values, parsed.positionals);
}

/**
 * `--keep -5` as `--keep=-5`: parseArgs takes a value starting with "-" for an option and stops with "argument is
 * ambiguous"; joined, the command's own check says what the value must be.
 */
function negativeValuesJoined(args: string[], options: Command['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    const next = args[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

// Node's own warnings quote what they warn about (DEP0170: a URL with an invalid port, password included): printed
// through the masking instead of Node's default printer.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  const code = (warning as Error & { code?: string }).code;
  console.error(maskSecrets(`(node) ${code ? `[${code}] ` : ''}${warning.name}: ${warning.message}`));
});

// `avscene classify … | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT_OK);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError) {
      printError(`avscene: ${err.message}`);
      process.exitCode = err.exitCode;
      return;
    }
    const e = err as Error & { exitCode?: number };
    // Errors written for users (bundle, audio format, device) carry their explanation in the message; the stack is for bugs.
    // Errors from libraries (mqtt.js, OpenCV) may quote a URL with its password.
    printError(maskSecrets(`avscene: ${e.message ?? String(err)}`));
    if (process.env.AVSCENE_DEBUG) printError(maskSecrets(e.stack ?? ''));
    process.exitCode = e.exitCode ?? EXIT_FAILURE;
  },
);
