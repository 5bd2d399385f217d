/**
 * One daemon per state.dir: two would hand out the same seqs, replay the same outbox and take the broker's client id
 * from each other. The lock is flock(2) on the state.dir folder itself (a folder can be locked read-only, so a
 * read-only state.dir is still single-instance, and no lock file can be deleted from under a running daemon); when
 * state.dir cannot even be opened, on the RAM folder of this state.dir instead. Node has no flock(2): the daemon opens
 * the folder and hands that descriptor to `flock -xn 3` (util-linux). A flock belongs to the open file description,
 * which the daemon shares, so it outlives the short child and lasts exactly as long as the daemon's descriptor: the
 * kernel releases it when the daemon dies, however it dies. The holder's PID goes into `state.dir/lock` (or beside
 * the lock in the RAM folder when state.dir is read-only), for the message a second daemon gives.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/load.js';
import { processAlive } from '../util/process-alive.js';

export interface StateDirLock {
  /** What is locked: state.dir, or the RAM folder standing in for it. */
  readonly target: string;
  release(): void;
}

/** Takes the lock or throws a ConfigError (exit 78) naming the holder's PID and the state.dir. */
export function lockStateDir(stateDir: string, runtimeDir: string | null): StateDirLock {
  const dir = path.resolve(stateDir);
  const target = openable(dir) ? dir : runtimeDir;
  if (!target) {
    throw new ConfigError(
      `state.dir: cannot open "${dir}" to lock it, and there is no RAM folder to lock instead: create it (e.g. sudo install -d ${dir}) or set state.dir elsewhere`,
    );
  }
  const fd = openSync(target, constants.O_RDONLY | constants.O_DIRECTORY);
  const r = spawnSync('flock', ['--exclusive', '--nonblock', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (r.error || (r.status !== 0 && r.status !== 1)) {
    closeSync(fd);
    throw new ConfigError(
      `state.dir: cannot lock "${target}" with flock(1) (${r.error?.message ?? r.stderr.toString().trim()}): install util-linux`,
    );
  }
  const pidFiles = [path.join(dir, 'lock'), ...(runtimeDir ? [path.join(runtimeDir, 'lock')] : [])];
  if (r.status === 1) {
    closeSync(fd);
    const holder = pidFiles.map(readPid).find((pid) => pid !== null && processAlive(pid));
    throw new ConfigError(
      `state.dir "${dir}" is in use by another avscene daemon${holder ? ` (PID ${holder})` : ''}: one daemon per state.dir. ` +
        'Stop that one first (systemctl stop avscene), or give this one its own state.dir (--set state.dir=…)',
    );
  }
  // The PID where it can be written: state.dir, else (read-only) the RAM folder. A second daemon names only a live PID.
  for (const file of pidFiles) {
    try {
      const pidFd = openSync(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
        0o644,
      );
      try {
        writeSync(pidFd, `${process.pid}\n`);
      } finally {
        closeSync(pidFd);
      }
      break;
    } catch {}
  }
  return { target, release: () => closeSync(fd) };
}

function openable(dir: string): boolean {
  try {
    closeSync(openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY));
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
