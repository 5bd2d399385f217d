/**
 * Tells running daemons to re-read model.bundle (SIGHUP; the daemon swaps bundles between two windows).
 *
 * In order: the process ids given; else the systemd service when it is active (`systemctl reload avscene`, which runs
 * the unit's ExecReload); else the one `avscene run` process of this installation (same CLI file), found in /proc. When
 * several run (a test daemon of another user, a second device config), none is signalled: the user picks with --pid.
 * Only processes running this CLI's `run` are ever signalled: SIGHUP would end any other node process.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../util/package-info.js';
import { maskSecrets } from '../config/secrets.js';

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
