/** Opens `state.dir` (its default: src/config/default-state-dir.ts) for the parts that keep files there. */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/load.js';

/** Creates `dir` (and `sub`) if needed and checks that this user may write there; returns the absolute path. */
export function openStateDir(dir: string, ...sub: string[]): string {
  const full = path.resolve(dir, ...sub);
  try {
    mkdirSync(full, { recursive: true, mode: 0o750 });
    if (!statSync(full).isDirectory()) throw new Error('not a directory');
    accessSync(full, constants.W_OK | constants.X_OK);
  } catch (err) {
    const user = os.userInfo().username;
    throw new ConfigError(
      `state.dir: cannot use "${full}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
        `it must be a directory that user ${user} can write; create it (e.g. sudo install -d -o ${user} ${dir}) or set state.dir elsewhere`,
    );
  }
  return full;
}
