/** Small state files that are always either the old or the new content, even across a power cut. */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** fsync calls made here since start (BENCHMARKS.md § MQTT outbox). */
export const atomicFileIo = { fsyncs: 0 };

/** Write to a temporary file, fsync, rename over, fsync the directory. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content);
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDir(path.dirname(file));
  atomicFileIo.fsyncs++;
}

/** A new or renamed file's name is durable once its directory is synced. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  atomicFileIo.fsyncs++;
}
