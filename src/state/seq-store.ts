/**
 * The window counter `seq`, continued across restarts so that a gap at the subscriber always means a lost window.
 *
 * - Every window: the next value goes to a RuntimeFile (tmpfs, no disk I/O): exact after SIGTERM, SIGKILL or a crash.
 * - On disk (`state.dir/seq-<device.id>.json`), rarely: a reservation — a number no window has reached yet — renewed
 *   every `reserve` windows (one small write + fsync, 144 a day with the default 600), and the exact value on a clean stop.
 * - After a power cut (tmpfs gone, no clean stop recorded) the count resumes at the reservation: at most `reserve` numbers
 *   are skipped, never reused (a reused seq would make a subscriber discard a real window as a duplicate). The log
 *   says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from './atomic-file.js';
import { RuntimeFile, runtimeDirFor } from './runtime-file.js';

export type SeqResume = 'first start' | 'exact' | 'clean stop' | 'unclean stop';

interface OnDisk {
  /** Clean stop: the next seq. Otherwise: every seq used is below it. */
  next: number;
  clean: boolean;
}

export class SeqStore {
  readonly resume: SeqResume;
  private current: number;
  private reserved = 0;
  private readonly file: string;
  private readonly runtime: RuntimeFile | null;

  /** `atLeast`: a floor known from elsewhere (the outbox's highest seq + 1). */
  constructor(
    stateDir: string,
    deviceId: string,
    logger: Logger,
    private readonly reserve = 600,
    atLeast = 0,
  ) {
    this.file = path.join(stateDir, `seq-${deviceId}.json`);
    const runtimeDir = runtimeDirFor(stateDir);
    this.runtime = runtimeDir ? new RuntimeFile(path.join(runtimeDir, `seq-${deviceId}`)) : null;
    const disk = readDisk(this.file);
    if (this.runtime?.previous != null) {
      this.resume = 'exact';
      this.current = this.runtime.previous;
    } else if (disk) {
      this.resume = disk.clean ? 'clean stop' : 'unclean stop';
      this.current = disk.next;
    } else {
      this.resume = 'first start';
      this.current = 0;
    }
    this.current = Math.max(this.current, atLeast);
    if (this.resume === 'unclean stop') {
      logger.warn(
        { seq: this.current, file: this.file },
        `window counter resumes at ${this.current} after an unclean stop with no RAM record (power cut or reboot): ` +
          `up to ${this.reserve} seq numbers after the last window published before it were never used`,
      );
    } else if (!this.runtime) {
      logger.warn(
        'no tmpfs for the window counter (/dev/shm, $XDG_RUNTIME_DIR): after a crash seq may skip up to ' +
          this.reserve,
      );
    }
    this.runtime?.write(this.current);
    this.renewReservation();
  }

  /** Returns the seq of a new window. */
  next(): number {
    const seq = this.current++;
    this.runtime?.write(this.current);
    if (this.current >= this.reserved) this.renewReservation();
    return seq;
  }

  /** The seq the next window will get. */
  peek(): number {
    return this.current;
  }

  /** Clean stop: the exact next value, synced. */
  close(): void {
    writeDisk(this.file, { next: this.current, clean: true });
    this.runtime?.close();
  }

  private renewReservation(): void {
    this.reserved = this.current + this.reserve;
    writeDisk(this.file, { next: this.reserved, clean: false });
  }
}

function readDisk(file: string): OnDisk | null {
  if (!existsSync(file)) return null;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as OnDisk;
    return Number.isSafeInteger(parsed.next) && parsed.next >= 0
      ? { next: parsed.next, clean: parsed.clean === true }
      : null;
  } catch {
    return null; // a torn write is impossible (rename), but a hand-edited file must not stop the daemon
  }
}

function writeDisk(file: string, value: OnDisk): void {
  writeFileAtomic(file, JSON.stringify(value) + '\n');
}
