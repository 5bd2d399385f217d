/** Runs the built `avscene` CLI as a user would (node dist/cli/main.js …). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CLI, REPO_ROOT } from './paths.js';
import { tempDir } from './media.js';

/** Each run gets its own fresh state.dir (outbox, seq) unless the test passes AVSCENE_STATE_DIR to share one. */
const baseEnv = (): NodeJS.ProcessEnv => ({ ...process.env, AVSCENE_LOG_FORMAT: 'json', AVSCENE_STATE_DIR: tempDir('avscene-state-') });

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...baseEnv(), ...env }, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** JSON log lines printed so far. */
  logs(): Array<Record<string, unknown>>;
}

const running = new Set<ChildProcess>();

/** Kills every CLI process a test started and that is still running (a failed test must not leave a daemon behind). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    logs: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
