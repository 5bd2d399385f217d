/**
 * A number kept in RAM-backed storage (tmpfs) that outlives the process but not the boot: written on every change
 * without touching the disk, so a daemon killed with SIGKILL (or by the OOM killer) and restarted knows exactly where
 * it was. Lives under systemd's RuntimeDirectory ($RUNTIME_DIRECTORY), else $XDG_RUNTIME_DIR/avscene, else /dev/shm,
 * in a folder named after the absolute `state.dir`, so two daemons with different state never share one.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statfsSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const RECORD = 24;

/** The RAM-backed folder for `stateDir`, or null when this system has none (then only the disk checkpoints count). */
export function runtimeDirFor(stateDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [
    env.RUNTIME_DIRECTORY?.split(':')[0],
    env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'avscene') : undefined,
    `/dev/shm/avscene-${os.userInfo().uid}`,
  ];
  const key = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16);
  for (const base of candidates) {
    if (!base) continue;
    const parent = existsSync(base) ? base : path.dirname(base);
    try {
      const type = statfsSync(parent).type;
      if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC) continue;
      const dir = path.join(base, key);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    } catch {}
  }
  return null;
}

/** One non-negative integer at a fixed offset: each write is a single pwrite(2) of 24 bytes into RAM. */
export class RuntimeFile {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(RECORD);

  /** The value a previous process of this boot left, or null. */
  readonly previous: number | null;

  constructor(readonly file: string) {
    this.previous = existsSync(file) ? parseRecord(readFileSync(file, 'utf8')) : null;
    this.fd = openSync(file, existsSync(file) ? 'r+' : 'w+', 0o600);
  }

  write(value: number): void {
    this.buffer.write(String(value).padStart(RECORD - 1, ' ') + '\n', 0, 'latin1');
    writeSync(this.fd, this.buffer, 0, RECORD, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function parseRecord(text: string): number | null {
  const value = Number(text.trim());
  return text.length === RECORD && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
