/** Opens `state.dir` (its default: src/config/default-state-dir.ts) for the parts that keep files there. */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/load.js';
import { isStorageFault } from './state-dir-health.js';

/**
 * Creates `dir` (and `sub`) if needed and checks that this user may write there; returns the absolute path. A storage
 * fault (read-only, full or failing medium) is no configuration error: the path is returned, and the writers find
 * out and report it through StateDirHealth (the daemon runs degraded instead of stopping).
 */
export function openStateDir(dir: string, ...sub: string[]): string {
  const full = path.resolve(dir, ...sub);
  try {
    mkdirSync(full, { recursive: true, mode: 0o750 });
    if (!statSync(full).isDirectory()) throw new Error('not a directory');
    accessSync(full, constants.W_OK | constants.X_OK);
  } catch (err) {
    if (isStorageFault(err) || isStorageFault(mkdirError(full))) return full;
    const user = os.userInfo().username;
    throw new ConfigError(
      `state.dir: cannot use "${full}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
        `it must be a directory that user ${user} can write; create it (e.g. sudo install -d -o ${user} ${dir}) or set state.dir elsewhere`,
    );
  }
  return full;
}

/**
 * The error creating the first missing folder of `full` gives: a recursive mkdir reports ENOENT where the file system
 * is read-only (libuv), which would read as a wrong path instead of a storage fault.
 */
function mkdirError(full: string): unknown {
  let missing = full;
  while (!existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
  try {
    mkdirSync(missing);
    return null;
  } catch (err) {
    return err;
  }
}
