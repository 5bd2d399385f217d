/** Runs the built `avscene` CLI as a user would (node dist/cli/main.js …). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CLI, REPO_ROOT } from './paths.js';
import { tempDir } from './media.js';
import { staleBuild } from '../build-state.mjs';

/**
 * Each run gets its own fresh state.dir (outbox, seq) unless the test passes AVSCENE_STATE_DIR to share one, and its
 * HTTP endpoint on a free port (several daemons run at once); `--set http.listen=…` still wins.
 */
const baseEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  AVSCENE_LOG_FORMAT: 'json',
  AVSCENE_STATE_DIR: tempDir('avscene-state-'),
  AVSCENE_HTTP_LISTEN: '127.0.0.1:0',
});

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Refuses to test a dist/ older than src/ (a pass would say nothing about the code under review). */
function requireFreshBuild(): void {
  const stale = staleBuild();
  if (stale !== null)
    throw new Error(
      `dist/ is out of date (${stale}): run npm run build, or run the tests with node test/run.mjs or make test, which build first`,
    );
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliResult {
  requireFreshBuild();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
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
  /** Waits until `predicate` holds for the log lines so far; fails after `timeoutMs`, naming `what` and the last lines. */
  until(predicate: (logs: Array<Record<string, unknown>>) => boolean, timeoutMs: number, what: string): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every CLI process a test started and that is still running (a failed test must not leave a daemon behind). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  requireFreshBuild();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const logs = () =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{') && line.endsWith('}'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  let ended = false; // 'close': the output is complete
  child.once('close', () => (ended = true));
  const until = async (predicate: (l: Array<Record<string, unknown>>) => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(logs())) {
      if ((ended && !predicate(logs())) || Date.now() > deadline) {
        const why = ended ? 'the process exited' : `${timeoutMs} ms passed`;
        throw new Error(
          `${why} before ${what}; last log lines:\n${logs()
            .slice(-5)
            .map((l) => JSON.stringify(l))
            .join('\n')}\nstderr: ${err.slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, stdout: () => out, stderr: () => err, exited, logs, until };
}
