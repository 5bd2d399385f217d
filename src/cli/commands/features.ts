/** `avscene features`: log-mel / Bark / scalogram features of WAV files as .npy (the toolkit trains on these). */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { UsageError, type Command } from '../command.js';
import { FEATURE_KINDS, isFeatureKind, type FeatureKind } from '../../features/index.js';
import { fileFeatures } from '../../features/file-features.js';
import { writeNpy } from '../../features/npy.js';
import { runBatch, type BatchJob, type BatchProgress } from '../../features/batch.js';
import { ProgressLine } from '../progress.js';
import { WAV_INPUT } from '../../audio/wav.js';
import { inputFileProblem } from '../../util/input-file.js';

const help = `Usage:
  avscene features AUDIO.wav --kind KIND --out FILE.npy [--window 1]
  avscene features --list FILES.txt --kind KIND[,KIND…] --out-dir DIR [--window 1] [--jobs N]

Computes the audio features of docs/spec/features.md (v1) with the daemon's own code and writes them as
NumPy .npy files (format 1.0, dtype <f4, C order). Input: ${WAV_INPUT}.

Kinds: logmel (256 bands), bark (256), scalogram (290). Channel 0 is (L+R)/2, channel 1 is (L−R)/2.

Output shape:
  whole clip           [T, 2, F], T = 1 + floor(samples / 8208)   (59 frames for a 10-s clip)
  --window 1           [W, 6, 2, F], W = whole 1-s windows: each framed on its own, exactly as
                       the daemon computes it (a trailing partial second is dropped
                       unless it lacks at most 10 ms, then it is zero-padded)

Options:
  --kind, -k KINDS     one kind (single file) or a comma-separated list (batch)
  --out, -o FILE       output file (single file)
  --list FILE          text file with one WAV path per line (batch); relative paths are resolved against the
                       list file's folder; blank lines and lines starting with # are ignored
  --out-dir DIR        output folder (batch): one <basename>.<kind>.npy per input and kind
  --window 1           per-1-s-window features (the daemon's framing) instead of whole-clip framing
  --jobs, -j N         worker threads for batch mode (default: all cores, ${availableParallelism()} here)

A file that cannot be read (not a WAV, truncated, unsupported encoding, empty, NaN/Inf samples) is reported with
the reason and skipped; the exit status is 1 when any file failed. Progress is shown on a terminal.

Examples:
  avscene features clip.wav --kind logmel --out clip.logmel.npy
  avscene features --list train.txt --kind logmel,bark,scalogram --out-dir features/ --window 1`;

function parseKinds(value: unknown): FeatureKind[] {
  if (typeof value !== 'string' || value === '')
    throw new UsageError(`--kind is required (one of ${FEATURE_KINDS.join(', ')})\n\n${help}`);
  const kinds = value.split(',').map((k) => k.trim());
  for (const kind of kinds) {
    if (!isFeatureKind(kind)) throw new UsageError(`unknown feature kind "${kind}"; use ${FEATURE_KINDS.join(', ')}`);
  }
  return [...new Set(kinds as FeatureKind[])];
}

function parseWindow(value: unknown): boolean {
  if (value === undefined) return false;
  if (value !== '1') throw new UsageError(`--window takes 1 (the daemon's 1-s windows), got "${String(value)}"`);
  return true;
}

function parseJobs(value: unknown): number {
  if (value === undefined) return availableParallelism();
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new UsageError(`--jobs must be a positive integer, got "${String(value)}"`);
  return jobs;
}

async function single(input: string, values: Record<string, unknown>): Promise<number> {
  const kinds = parseKinds(values.kind);
  if (kinds.length !== 1)
    throw new UsageError('one input file takes one --kind (use --list and --out-dir for several kinds)');
  const out = values.out;
  if (typeof out !== 'string') throw new UsageError(`--out FILE.npy is required\n\n${help}`);
  if (values.list !== undefined || values['out-dir'] !== undefined)
    throw new UsageError('give either AUDIO with --out, or --list with --out-dir');
  const problem = inputFileProblem(input);
  if (problem !== null) throw new UsageError(`audio file ${input} ${problem}`);
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`--out ${out} is a folder; give the file to write, e.g. ${path.join(out, 'clip.logmel.npy')}`);
  const features = fileFeatures(input, kinds, parseWindow(values.window));
  const { data, shape } = features.get(kinds[0]!)!;
  writeNpy(out, data, shape);
  return 0;
}

/** The inputs of a list file, resolved against its folder; throws a UsageError naming missing files. */
function readList(listFile: string): string[] {
  const problem = inputFileProblem(listFile);
  if (problem !== null) throw new UsageError(`list file ${listFile} ${problem}`);
  const folder = path.dirname(path.resolve(listFile));
  const inputs = readFileSync(listFile, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => path.resolve(folder, line));
  if (inputs.length === 0) throw new UsageError(`list file ${listFile} names no files`);
  const unreadable = inputs.flatMap((f) => {
    const why = inputFileProblem(f);
    return why === null ? [] : [`${f} ${why}`];
  });
  if (unreadable.length > 0) {
    throw new UsageError(
      `${unreadable.length} file(s) named in ${listFile} cannot be read, e.g. ${unreadable.slice(0, 3).join('; ')}`,
    );
  }
  return inputs;
}

function batchJobs(inputs: string[], kinds: FeatureKind[], outDir: string): BatchJob[] {
  const owners = new Map<string, string>();
  return inputs.map((input) => {
    const base = path.basename(input, path.extname(input));
    const previous = owners.get(base);
    if (previous !== undefined && previous !== input) {
      throw new UsageError(`${previous} and ${input} would both write ${base}.<kind>.npy; rename one of them`);
    }
    owners.set(base, input);
    const outputs: BatchJob['outputs'] = {};
    for (const kind of kinds) outputs[kind] = path.join(outDir, `${base}.${kind}.npy`);
    return { input, outputs };
  });
}

function progressReporter(total: number): (p: BatchProgress) => void {
  const line = new ProgressLine();
  const started = performance.now();
  return (p) => {
    if (p.error !== undefined) line.message(`avscene features: skipped ${p.error}`);
    const elapsed = (performance.now() - started) / 1000;
    const eta = p.done < total ? ` eta ${Math.ceil((elapsed / p.done) * (total - p.done))} s` : '';
    const width = String(total).length;
    line.update(
      `[${String(p.done).padStart(width)}/${total}] ${Math.floor((100 * p.done) / total)}%${eta}  ${path.basename(p.job.input)}`,
    );
    if (p.done === total) line.done();
  };
}

async function batch(values: Record<string, unknown>): Promise<number> {
  const kinds = parseKinds(values.kind);
  const perWindow = parseWindow(values.window);
  const jobsOption = parseJobs(values.jobs);
  const outDir = values['out-dir'];
  if (typeof outDir !== 'string') throw new UsageError(`--out-dir DIR is required with --list\n\n${help}`);
  if (values.out !== undefined) throw new UsageError('--out is for one input file; with --list use --out-dir');
  const inputs = readList(values.list as string);
  const jobs = batchJobs(inputs, kinds, outDir);
  mkdirSync(outDir, { recursive: true });
  if (!statSync(outDir).isDirectory()) throw new UsageError(`--out-dir ${outDir} is not a folder`);
  const started = performance.now();
  const failed = await runBatch(jobs, kinds, perWindow, jobsOption, progressReporter(jobs.length));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const written = (jobs.length - failed) * kinds.length;
  console.error(
    `avscene features: ${jobs.length - failed}/${jobs.length} files, ${written} .npy (${kinds.join(', ')}${perWindow ? ', per 1-s window' : ''}) ` +
      `written to ${outDir} in ${seconds} s${failed > 0 ? `; ${failed} failed (reasons above)` : ''}`,
  );
  return failed > 0 ? 1 : 0;
}

export const command: Command = {
  name: 'features',
  help,
  options: {
    kind: { type: 'string', short: 'k' },
    out: { type: 'string', short: 'o' },
    list: { type: 'string' },
    'out-dir': { type: 'string' },
    window: { type: 'string' },
    jobs: { type: 'string', short: 'j' },
  },
  async run(values, positionals) {
    if (values.list !== undefined) {
      if (positionals.length > 0) throw new UsageError('give either AUDIO files with --out, or --list; not both');
      return batch(values);
    }
    if (positionals.length !== 1) throw new UsageError(`give one AUDIO file (or --list FILES.txt)\n\n${help}`);
    return single(positionals[0]!, values);
  },
};
