/** Small state files that are always either the old or the new content, even across a power cut. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** fsync calls made here since start (BENCHMARKS.md § MQTT outbox). */
export const atomicFileIo = { fsyncs: 0 };

/**
 * Write to a temporary file, fsync, rename over, fsync the directory. A write that fails (a full disk) removes what it
 * wrote of the temporary file: the old content stays, and no partial file takes space.
 */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, content);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {} // a read-only file system refuses the removal too: the original error is the one to report
    throw err;
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
