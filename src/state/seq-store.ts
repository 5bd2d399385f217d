/**
 * The window counter `seq`, continued across restarts so that a gap at the subscriber always means a lost window and a
 * repeated seq never happens (a subscriber would discard a real window as a duplicate).
 *
 * - Every window: the next value goes to a RuntimeFile (tmpfs, no disk I/O) together with the disk reservation it
 *   belongs to: exact after SIGTERM, SIGKILL or a crash.
 * - On disk (`state.dir/seq-<device.id>.json` and the same in `seq-<device.id>.copy.json`), rarely: a reservation — a
 *   number no window has reached yet — renewed every `reserve` windows, and the exact value on a clean stop. Two
 *   copies, so a file emptied by a repair or deleted by hand still leaves one.
 * - At start the count resumes above every source it has: both files and their `.tmp`, the floors the caller knows
 *   (the outbox's windows, the acknowledged seq), and the RAM record. The RAM record alone is trusted (it may be below
 *   the reservation) only when the reservation stored beside it is the one on disk: a record of another RAM folder or
 *   another run (a login shell, then the service) is just one more source, and the highest wins.
 * - A power cut (RAM record gone, no clean stop) resumes at the reservation: at most `reserve` numbers are skipped.
 * - A storage fault (full, read-only, failing card) never stops the count: seq goes on in RAM, and the reservation is
 *   written once state.dir takes writes again (StateDirHealth). Until then a power cut can repeat seqs above the last
 *   reservation written; a SIGKILL cannot (the RAM record).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from './atomic-file.js';
import { RuntimeFile, runtimeDirFor } from './runtime-file.js';
import { StateDirHealth } from './state-dir-health.js';

/** Windows per disk reservation: one small write + fsync per 10 minutes of windows. */
export const SEQ_RESERVE = 600;

export type SeqResume = 'first start' | 'exact' | 'clean stop' | 'unclean stop' | 'recovered';

/** Something else that knows seqs were used: every one of them is below `next`. */
export interface SeqFloor {
  source: string;
  next: number;
}

export interface SeqStoreOptions {
  /** Windows per disk reservation. */
  reserve?: number;
  /** Floors known from elsewhere (the outbox's windows, the acknowledged seq). */
  floors?: SeqFloor[];
  /** The RAM folder (openRuntimeDir); by default found here. null: none. */
  runtimeDir?: string | null;
  /** Shared with the other writers of state.dir; by default one of its own. */
  health?: StateDirHealth;
}

interface OnDisk {
  /** Clean stop: the next seq. Otherwise: every seq used is below it. */
  next: number;
  clean: boolean;
}

type DiskRead = { state: 'missing' } | { state: 'unreadable'; why: string } | ({ state: 'ok' } & OnDisk);

export class SeqStore {
  readonly resume: SeqResume;
  private current: number;
  /** Every seq below it is covered by the reservation on disk (the last one written). */
  private reserved: number;
  private persistPending = false;
  private readonly files: [string, string];
  private runtime: RuntimeFile | null = null;
  private readonly health: StateDirHealth;
  private readonly reserve: number;

  constructor(
    stateDir: string,
    deviceId: string,
    private readonly logger: Logger,
    options: SeqStoreOptions = {},
  ) {
    this.reserve = options.reserve ?? SEQ_RESERVE;
    this.health = options.health ?? new StateDirHealth(stateDir, logger);
    this.files = [path.join(stateDir, `seq-${deviceId}.json`), path.join(stateDir, `seq-${deviceId}.copy.json`)];
    const runtimeDir = options.runtimeDir === undefined ? runtimeDirFor(stateDir) : options.runtimeDir;
    if (runtimeDir) {
      try {
        this.runtime = new RuntimeFile(path.join(runtimeDir, `seq-${deviceId}`), 2);
      } catch (err) {
        logger.warn(
          { dir: runtimeDir, err: (err as Error).message },
          `window counter: no RAM record (${(err as Error).message}); after a crash seq may skip up to ${this.reserve}`,
        );
      }
    }
    const [primary, copy] = this.files.map(readDisk) as [DiskRead, DiskRead];
    const temps = this.files.map((f) => readDisk(`${f}.tmp`));
    // A floor of 0 says nothing was used: it is no evidence that the device counted before.
    const sources: SeqFloor[] = (options.floors ?? []).filter((f) => f.next > 0);
    for (const [i, read] of [primary, copy, ...temps].entries()) {
      const file = i < 2 ? this.files[i]! : `${this.files[i - 2]}.tmp`;
      if (read.state === 'ok') sources.push({ source: file, next: read.next });
    }
    // The disk's word: the newest reservation (or clean stop) written, if either copy is readable.
    const disk = [primary, copy]
      .filter((r): r is { state: 'ok' } & OnDisk => r.state === 'ok')
      .sort((a, b) => b.next - a.next)[0];
    const [ramNext, ramReserved] = this.runtime?.previousValues ?? [];
    const floor = Math.max(0, ...sources.map((s) => s.next));

    if (ramNext !== undefined && disk && ramReserved === disk.next) {
      this.resume = 'exact';
      this.current = Math.max(ramNext, ...(options.floors ?? []).map((f) => f.next));
    } else if (primary.state === 'ok' && !(ramNext !== undefined && ramNext > floor)) {
      this.resume = primary.clean && primary.next === floor ? 'clean stop' : 'unclean stop';
      this.current = floor;
    } else if (
      primary.state === 'missing' &&
      copy.state === 'missing' &&
      sources.length === 0 &&
      ramNext === undefined
    ) {
      this.resume = 'first start';
      this.current = 0;
    } else {
      this.resume = 'recovered';
      this.current = Math.max(floor, ramNext ?? 0);
    }
    this.reserved = disk?.next ?? 0;
    this.explain(primary, sources, ramNext, ramReserved, disk?.next);
    this.writeRuntime();
    this.health.onWritable(() => {
      if (this.persistPending) this.renewReservation();
    });
    this.renewReservation();
  }

  /** Returns the seq of a new window. */
  next(): number {
    const seq = this.current++;
    this.writeRuntime();
    if (this.current >= this.reserved && !this.persistPending) this.renewReservation();
    return seq;
  }

  /** The seq the next window will get. */
  peek(): number {
    return this.current;
  }

  /** Clean stop: the exact next value, synced (when state.dir takes it; else the RAM record keeps it). */
  close(): void {
    if (this.writeDisk({ next: this.current, clean: true }, 'window counter at stop')) this.reserved = this.current;
    this.writeRuntime();
    this.runtime?.close();
    this.runtime = null;
  }

  private renewReservation(): void {
    const next = this.current + this.reserve;
    this.persistPending = !this.writeDisk({ next, clean: false }, 'window counter reservation');
    if (!this.persistPending) {
      this.reserved = next;
      this.writeRuntime();
    }
  }

  /** Both copies; false on a storage fault (already reported to StateDirHealth). */
  private writeDisk(value: OnDisk, what: string): boolean {
    const text = JSON.stringify(value) + '\n';
    return this.files.every((file) => this.health.attempt(what, () => writeFileAtomic(file, text)));
  }

  private writeRuntime(): void {
    if (!this.runtime) return;
    try {
      this.runtime.write(this.current, this.reserved);
    } catch (err) {
      // A full /dev/shm: without the record a crash may skip up to `reserve` seqs, never repeat one.
      this.logger.warn(
        { file: this.runtime.file, err: (err as Error).message },
        `window counter: the RAM record cannot be written (${(err as Error).message}); going on without it`,
      );
      this.runtime.close();
      this.runtime = null;
    }
  }

  private explain(
    primary: DiskRead,
    sources: SeqFloor[],
    ramNext: number | undefined,
    ramReserved: number | undefined,
    diskNext: number | undefined,
  ): void {
    const { logger, current } = this;
    const [file] = this.files;
    const from = sources
      .filter((s) => s.next === current)
      .map((s) => s.source)
      .concat(ramNext === current ? ['the RAM record'] : []);
    const resumes = `window counter resumes at ${current} (from ${from.join(', ') || 'nothing'})`;
    if (primary.state === 'unreadable') {
      logger.error(
        { file, why: primary.why, seq: current, sources },
        `${file} is unreadable (${primary.why}): ${resumes}, above every seq any of them shows was used`,
      );
    } else if (primary.state === 'missing' && this.resume !== 'first start') {
      logger.error(
        { file, seq: current, sources },
        `${file} is missing although this device has counted before: ${resumes}, above every seq used`,
      );
    } else if (ramNext !== undefined && this.resume !== 'exact') {
      logger.warn(
        { seq: current, ram: ramNext, ramReservation: ramReserved ?? null, diskReservation: diskNext ?? null },
        `the RAM record (${ramNext}) does not belong to the reservation on disk (${diskNext ?? 'none'}): another ` +
          `run used this state.dir with another RAM folder; ${resumes}`,
      );
    } else if (this.resume === 'unclean stop') {
      logger.warn(
        { seq: current, file },
        `window counter resumes at ${current} after an unclean stop with no RAM record (power cut or reboot): ` +
          `up to ${this.reserve} seq numbers after the last window published before it were never used`,
      );
    } else if (!this.runtime) {
      logger.warn(
        'no RAM record for the window counter (/run, $XDG_RUNTIME_DIR, /dev/shm): after a crash seq may skip up to ' +
          this.reserve,
      );
    }
  }
}

function readDisk(file: string): DiskRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { state: 'missing' } : { state: 'unreadable', why: code ?? (err as Error).message };
  }
  if (text.trim() === '') return { state: 'unreadable', why: 'empty' };
  try {
    const parsed = JSON.parse(text) as Partial<OnDisk>;
    if (typeof parsed.next === 'number' && Number.isSafeInteger(parsed.next) && parsed.next >= 0)
      return { state: 'ok', next: parsed.next, clean: parsed.clean === true };
    return { state: 'unreadable', why: 'no valid "next"' };
  } catch {
    return { state: 'unreadable', why: 'not JSON' };
  }
}
