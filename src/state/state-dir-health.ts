/**
 * Whether writes to `state.dir` succeed: one signal shared by every part that writes there (window counter, outbox,
 * discovery memory). A storage fault (full card, read-only remount after an I/O error, quota) never stops labelling:
 * the writer keeps in memory what it could not persist and reports the failure here. This logs the condition once with
 * the fix, reminds every `remindMs`, probes the folder every `probeMs` and, once a write succeeds again (a probe or any
 * writer's), tells the writers (`onWritable`) so they persist what they hold. Any other error (a bug, a wrong path)
 * is not a storage fault and is thrown as before.
 */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';

/** The errors a failing or full medium gives; the daemon keeps labelling through them. */
const STORAGE_FAULTS = new Set(['ENOSPC', 'EROFS', 'EIO', 'EDQUOT']);

export function isStorageFault(err: unknown): err is NodeJS.ErrnoException {
  return STORAGE_FAULTS.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** What the operator does about each fault. */
function remedy(code: string, dir: string): string {
  switch (code) {
    case 'ENOSPC':
      return `the file system of state.dir ${dir} is full: free space on it`;
    case 'EDQUOT':
      return `the disk quota of this user on state.dir ${dir} is used up: raise it or free space`;
    case 'EROFS':
      return (
        `state.dir ${dir} is on a read-only file system (ext4 remounts read-only after an I/O error): ` +
        'check the card (dmesg), repair it (fsck) and remount it read-write (mount -o remount,rw)'
      );
    default:
      return `writes to state.dir ${dir} fail with an I/O error: the card may be failing, check dmesg and replace it`;
  }
}

export interface StateDirHealthOptions {
  /** The condition is logged again this often while it lasts. */
  remindMs?: number;
  /** A probe write is tried this often while writes fail. */
  probeMs?: number;
}

export const REMIND_MS = 10 * 60_000;
export const PROBE_MS = 30_000;
const PROBE_FILE = '.write-probe';

export class StateDirHealth {
  private failures = 0;
  private failing: { code: string; since: number } | null = null;
  private reminder: NodeJS.Timeout | null = null;
  private probe: NodeJS.Timeout | null = null;
  private readonly listeners: Array<() => void> = [];
  private readonly remindMs: number;
  private readonly probeMs: number;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    options: StateDirHealthOptions = {},
  ) {
    this.remindMs = options.remindMs ?? REMIND_MS;
    this.probeMs = options.probeMs ?? PROBE_MS;
  }

  /** False from a failed write until a write succeeds again. */
  get writable(): boolean {
    return this.failing === null;
  }

  /** Writes to state.dir that failed with a storage fault since start. */
  get failedWrites(): number {
    return this.failures;
  }

  /**
   * Runs one write to state.dir. A storage fault is counted, reported and answered with false (the caller keeps the
   * data in memory); success with true. Any other error is thrown.
   */
  attempt(what: string, write: () => void): boolean {
    try {
      write();
    } catch (err) {
      if (!isStorageFault(err)) throw err;
      this.failed(what, err);
      return false;
    }
    this.succeeded();
    return true;
  }

  /** A write failed with a storage fault (for writers that catch their own errors). */
  failed(what: string, err: NodeJS.ErrnoException): void {
    this.failures++;
    if (this.failing) return;
    const code = err.code ?? 'EIO';
    this.failing = { code, since: Date.now() };
    this.logger.error(
      { dir: this.dir, code, write: what },
      `state.dir cannot be written (${what}: ${code}); labelling and live publishing go on, what cannot be persisted ` +
        `is kept in memory and written once state.dir takes writes again. Fix: ${remedy(code, this.dir)}`,
    );
    this.reminder = setInterval(() => this.remind(), this.remindMs);
    this.reminder.unref();
    this.probe = setInterval(() => this.tryProbe(), this.probeMs);
    this.probe.unref();
  }

  /** A write to state.dir succeeded: a failure before it is over. */
  succeeded(): void {
    if (!this.failing) return;
    const minutes = Math.round((Date.now() - this.failing.since) / 60_000);
    this.failing = null;
    this.stopTimers();
    this.logger.info(
      { dir: this.dir, failedWrites: this.failures },
      `state.dir takes writes again after ${minutes} min: persisting what was kept in memory`,
    );
    for (const listener of this.listeners) listener();
  }

  /** Called each time state.dir takes writes again after a failure. */
  onWritable(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** For the health report, `/readyz`, `/metrics` and `STATUS=`. */
  stats(): { stateDirWritable: number; stateDirFailedWrites: number } {
    return { stateDirWritable: this.writable ? 1 : 0, stateDirFailedWrites: this.failures };
  }

  /** Writes a small file, fsyncs and removes it: success means the writers can try again. */
  tryProbe(): void {
    const file = path.join(this.dir, PROBE_FILE);
    this.attempt('write probe', () => {
      const fd = openSync(file, 'w', 0o600);
      try {
        writeSync(fd, Buffer.alloc(4096));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
        unlinkSync(file);
      }
    });
  }

  close(): void {
    this.stopTimers();
  }

  private remind(): void {
    if (!this.failing) return;
    const minutes = Math.round((Date.now() - this.failing.since) / 60_000);
    this.logger.warn(
      { dir: this.dir, code: this.failing.code, failedWrites: this.failures },
      `state.dir still cannot be written (${minutes} min, ${this.failures} failed writes). Fix: ${remedy(this.failing.code, this.dir)}`,
    );
  }

  private stopTimers(): void {
    if (this.reminder) clearInterval(this.reminder);
    if (this.probe) clearInterval(this.probe);
    this.reminder = this.probe = null;
  }
}
