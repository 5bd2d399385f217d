/** Runs the built `avscene` CLI as a user would (node dist/cli/main.js …). */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CLI, REPO_ROOT } from './paths.js';
import { tempDir } from './media.js';
import { staleBuild } from '../build-state.mjs';
import { ownRuntimeDir } from './runtime-dir.js';
import { poll } from './wait.js';

ownRuntimeDir(); // the CLIs inherit it: their RAM records go where this test process removes them at its exit

/**
 * Each run gets its own fresh state.dir (outbox, seq) unless the test passes AVSCENE_STATE_DIR to share one, and its
 * HTTP endpoint on a free port (several daemons run at once); `--set http.listen=…` still wins.
 */
export const cliEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  AVSCENE_LOG_FORMAT: 'json',
  AVSCENE_STATE_DIR: tempDir('avscene-state-'),
  AVSCENE_HTTP_LISTEN: '127.0.0.1:0',
});

/** `--set KEY=VALUE` for each of `settings`. */
export const sets = (...settings: string[]): string[] => settings.flatMap((s) => ['--set', s]);

/** `avscene run` publishing to `brokerUrl` as `device`, with `settings` (KEY=VALUE) on top. */
export const daemonArgs = (brokerUrl: string, device: string, ...settings: string[]): string[] => [
  'run',
  ...sets(`mqtt.url=${brokerUrl}`, `device.id=${device}`, ...settings),
];

export type LogLine = Record<string, unknown>;

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
    env: { ...cliEnv(), ...env },
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
  logs(): LogLine[];
  /**
   * Waits until `predicate` holds for the log lines so far and returns them; fails after `timeoutMs`, or as soon as
   * the process has exited without it, naming `what` and the last lines.
   */
  until(predicate: (logs: LogLine[]) => boolean, timeoutMs: number, what: string): Promise<LogLine[]>;
  /** Waits for the first log line that `matches` (as `until`) and returns it. */
  untilLog(matches: (line: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
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
    env: { ...cliEnv(), ...env },
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
      .map((line) => JSON.parse(line) as LogLine);
  let ended = false; // 'close': the output is complete
  child.once('close', () => (ended = true));
  const until = async (predicate: (l: LogLine[]) => boolean, timeoutMs: number, what: string) => {
    const seen = await poll(
      () => ({ complete: ended, lines: logs() }), // `complete` read first: then `lines` is all there will be
      ({ lines }) => predicate(lines),
      timeoutMs,
      what,
      {
        everyMs: 20,
        givesUp: ({ complete }) => (complete ? 'the process exited' : null),
        explain: ({ lines }) =>
          `last log lines:\n${lines
            .slice(-5)
            .map((l) => JSON.stringify(l))
            .join('\n')}\nstderr: ${err.slice(-2000)}`,
      },
    );
    return seen.lines;
  };
  const untilLog = async (matches: (line: LogLine) => boolean, timeoutMs: number, what: string) =>
    (await until((l) => l.some(matches), timeoutMs, what)).find(matches)!;
  return { child, stdout: () => out, stderr: () => err, exited, logs, until, untilLog };
}

/** Sends SIGTERM: the process must exit 0 within 5 s. Returns the time it took. */
export async function stopWithin5s(cli: RunningCli): Promise<number> {
  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  const { code } = await cli.exited;
  const elapsed = Date.now() - t0;
  assert.equal(code, 0, cli.stderr());
  assert.ok(elapsed < 5000, `stopped in ${elapsed} ms`);
  return elapsed;
}
