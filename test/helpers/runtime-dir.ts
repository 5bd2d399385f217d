/**
 * The daemon keeps its window counter and outbox mark in RAM-backed files that outlive the process by design
 * (src/state/runtime-file.ts: $RUNTIME_DIRECTORY, else /dev/shm/avscene-UID), so every test daemon would leave a
 * folder in /dev/shm. A test process gives itself a tmpfs folder of its own instead, as systemd's RuntimeDirectory
 * would, and removes it when it exits; daemons it restarts meanwhile still find their records there.
 */
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TMPFS_MAGIC = 0x01021994;

let own: string | null | undefined;

function onTmpfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Points $RUNTIME_DIRECTORY of this process, and so of the processes it starts, at a tmpfs folder of its own, removed
 * at exit. Null where /dev/shm is no tmpfs (then the daemon finds no RAM storage there either).
 */
export function ownRuntimeDir(): string | null {
  if (own !== undefined) return own;
  own = onTmpfs('/dev/shm') ? mkdtempSync(path.join('/dev/shm', `avscene-test-${os.userInfo().uid}-`)) : null;
  if (own !== null) {
    const dir = own;
    process.env.RUNTIME_DIRECTORY = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return own;
}
