/**
 * Tells running daemons to re-read model.bundle (SIGHUP; the daemon swaps bundles between two windows).
 *
 * In order: the process ids given; else the systemd service when it is active (`systemctl reload avscene`, which runs
 * the unit's ExecReload); else the one `avscene run` process of this installation (same CLI file), found in /proc. When
 * several run (a test daemon of another user, a second device config), none is signalled: the user picks with --pid.
 * Only processes running this CLI's `run` are ever signalled: SIGHUP would end any other node process.
 *
 * `reloadAndWait` (avscene reload --pid PID --wait, the unit's ExecReload) also waits for the daemon to say, in its
 * record (daemon-record.ts), how a reload it began after the signal ended: so `systemctl reload` on systemd 252, which
 * takes the end of ExecReload for the end of the reload, reports a refused bundle as a failed reload.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { readdir, readFile, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../util/package-info.js';
import { maskSecrets } from '../config/secrets.js';
import { runtimeBase } from '../state/runtime-file.js';
import { processAlive } from '../util/process-alive.js';
import type { ReloadResult } from '../publish/sink.js';
import { daemonRecordFile, processStartTime, readRecord, type DaemonRecord } from './daemon-record.js';

const run = promisify(execFile);
export const SERVICE = 'avscene';
const CLI_MAIN = path.join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');

export interface ReloadOutcome {
  /** How the daemons were reached: "pid", "systemd" or "none". */
  via: 'pid' | 'systemd' | 'none';
  pids: number[];
  /** One line for the user. */
  message: string;
}

export async function reloadDaemons(pids: number[] = []): Promise<ReloadOutcome> {
  if (pids.length > 0) {
    for (const pid of pids) signal(pid);
    return {
      via: 'pid',
      pids,
      message: `sent SIGHUP to ${pids.join(', ')}: the daemon loads the new bundle between two windows (see its log)`,
    };
  }
  if (await serviceActive()) {
    try {
      await run('systemctl', ['reload', SERVICE]);
    } catch (err) {
      const detail = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
      throw new Error(
        `systemctl reload ${SERVICE} failed (${detail}); run it as root, or restart the service: systemctl restart ${SERVICE}`,
      );
    }
    return {
      via: 'systemd',
      pids: [],
      message: `reloaded the ${SERVICE} service: it loads the new bundle between two windows (journalctl -u ${SERVICE} shows the swap or why it refused)`,
    };
  }
  const found = await findDaemons();
  if (found.length > 1) {
    const lines = await Promise.all(found.map(describeProcess));
    throw new Error(
      `${found.length} avscene daemons run and no avscene service is active; say which one to reload with --pid PID:\n  ${lines.join('\n  ')}`,
    );
  }
  for (const pid of found) signal(pid);
  return found.length > 0
    ? {
        via: 'pid',
        pids: found,
        message: `sent SIGHUP to avscene run (pid ${found.join(', ')}): it loads the new bundle between two windows (see its log)`,
      }
    : { via: 'none', pids: [], message: 'no running avscene daemon found: the new bundle is used when it next starts' };
}

/** How long `reloadAndWait` looks again at the record. */
const POLL_MS = 50;

/**
 * Signals the daemon `pid` and resolves with how the reload ended: `swapped` once the new bundle labels, `refused`
 * (with the daemon's reason) or `unchanged`. Only the outcome of a reload asked for after this one read the record
 * counts (the record numbers requests). Throws when the daemon keeps no record, stops, or does not answer in time.
 */
export async function reloadAndWait(pid: number, timeoutMs: number): Promise<ReloadResult> {
  const found = await findRecord(pid);
  if (!found) {
    throw new Error(
      `the daemon (pid ${pid}) keeps no reload record in its RAM folder (${recordPlaces(pid).join(' or ') || 'none'}), ` +
        'so nobody can wait for its reload: it is not an avscene daemon, is older than this command, or has no RAM ' +
        'folder (its log says "RAM folder refused"); reload without --wait and read its log',
    );
  }
  const { file, record } = found;
  const before = record.reloads?.requested ?? 0;
  signal(pid);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = await readRecord(file);
    if (!now || !isTheDaemon(record)) {
      throw new Error(`the daemon (pid ${pid}) stopped before its reload ended (its log says why)`);
    }
    const finished = now.reloads?.finished;
    if (finished && finished.request > before) return finished;
    if (Date.now() >= deadline) {
      throw new Error(
        `the daemon (pid ${pid}) did not finish the reload within ${timeoutMs / 1000} s: a prepared bundle takes over ` +
          'at the next window (none comes while the daemon is stuck or waits for its microphone); opening a large ' +
          'bundle or building TensorRT engines can take longer (raise --timeout)',
      );
    }
  }
}

/** The daemon's record: in the RAM folder its own environment names (/proc/PID/environ), else the one ours names. */
async function findRecord(pid: number): Promise<{ file: string; record: DaemonRecord } | null> {
  for (const file of recordPlaces(pid)) {
    const record = await readRecord(file);
    if (record && record.pid === pid && isTheDaemon(record)) return { file, record };
  }
  return null;
}

/**
 * Whether the record's process still runs: the start time tells a reused pid apart where /proc shows the process. The
 * unit's ExecReload does not see the daemon in /proc (ProtectProc=invisible with PrivateUsers=true hide it, as found
 * under systemd 252), so there it is alive as long as it can be signalled; systemd gave its pid.
 */
function isTheDaemon(record: DaemonRecord): boolean {
  const start = processStartTime(record.pid);
  return start === null ? processAlive(record.pid) : start === record.startTime;
}

function recordPlaces(pid: number): string[] {
  const places: (string | null)[] = [];
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    const env = Object.fromEntries(
      environ
        .split('\0')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    places.push(runtimeBase(env, statSync(`/proc/${pid}`).uid));
  } catch {
    // Another user's process (not root), or gone: our own RAM folder is the daemon's when we run as its user.
  }
  places.push(runtimeBase(process.env, os.userInfo().uid));
  return [...new Set(places.filter((p): p is string => p !== null))].map((base) => daemonRecordFile(base, pid));
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ESRCH'
        ? `no process ${pid}`
        : code === 'EPERM'
          ? `not allowed to signal process ${pid}: run as its user or root`
          : String(err),
    );
  }
}

async function serviceActive(): Promise<boolean> {
  try {
    await run('systemctl', ['is-active', '--quiet', SERVICE]);
    return true;
  } catch {
    return false; // inactive, unknown unit, or no systemd (containers, CI)
  }
}

/** "PID (user NAME): avscene run ARGS…" for the list shown when several daemons run. */
async function describeProcess(pid: number): Promise<string> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
  const uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1];
  const run = argv.indexOf('run');
  return `${pid} (uid ${uid ?? '?'}): avscene ${maskSecrets(argv.slice(run).join(' '))}`;
}

/** Process ids of `node …/dist/cli/main.js run …` (or `avscene run` through a link to it) of this installation, other than ourselves. */
export async function findDaemons(): Promise<number[]> {
  const me = await realpath(CLI_MAIN).catch(() => CLI_MAIN);
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
      (s) => s.split('\0'),
      () => null,
    );
    // argv: node [node options…] SCRIPT COMMAND …
    const script = argv ? argv.findIndex((arg, i) => i > 0 && !arg.startsWith('-')) : -1;
    if (!argv || script < 0 || argv[script + 1] !== 'run') continue;
    const cwd = await realpath(`/proc/${pid}/cwd`).catch(() => '/');
    if ((await realpath(path.resolve(cwd, argv[script]!)).catch(() => '')) === me) pids.push(pid);
  }
  return pids;
}
