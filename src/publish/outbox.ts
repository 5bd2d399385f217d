/**
 * The durable outbox of the `window` stream: every window the broker has not acknowledged, in `seq` order, kept in
 * memory and written ahead to append-only segment files under `state.dir/mqtt/outbox/` only when it is at risk.
 *
 * Disk policy (SD cards and eMMC wear out by writes; README § MQTT delivery):
 * - While the broker acknowledges normally, a window never touches the disk: it is sent, acknowledged within
 *   milliseconds, and forgotten.
 * - A window is written (one append, no fsync) when there is no connection to send it on, when its connection drops,
 *   or when it stays unacknowledged for `writeAheadAfterMs`. An append lands in the page cache, which a killed
 *   process (SIGKILL, OOM) does not lose.
 * - Appends are made durable with one fdatasync per `syncIntervalMs` at most, and only when there are new ones: a power
 *   cut loses at most that much of an outage. SIGTERM writes and syncs everything still pending.
 * - A segment whose windows are all acknowledged (or dropped) is deleted; a new one starts after `segmentBytes`.
 * - Bounded by `maxBytes` and `maxAgeMs`: past either, the oldest windows are dropped and counted.
 * Segment line: `<seq>\t<capturedAt ms>\t<topic>\t<payload>\n` (JSON payloads never contain a raw tab or newline);
 * a line torn by a power cut fails the format check and is skipped.
 */
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { syncDir } from '../state/atomic-file.js';
import type { RuntimeFile } from '../state/runtime-file.js';

export interface OutboxOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
  syncIntervalMs: number;
  writeAheadAfterMs: number;
  segmentBytes?: number;
  /**
   * Where the highest acknowledged seq is kept in RAM (tmpfs): after SIGKILL mid-drain, the next start does not send
   * again what the broker already has. Without it (or after a power cut) such windows are sent twice (QoS 1 is
   * at-least-once anyway; subscribers drop a repeated seq).
   */
  acked?: RuntimeFile | null;
  now?: () => number;
}

export interface OutboxEntry {
  readonly seq: number;
  readonly topic: string;
  readonly payload: string;
  /** Capture time of the window (ms since epoch): the age bound uses it. */
  readonly capturedAt: number;
  readonly bytes: number;
  state: 'queued' | 'sent' | 'done';
  sentAt: number;
  segment: Segment | null;
}

interface Segment {
  file: string;
  fd: number | null;
  bytes: number;
  /** Entries written here and neither acknowledged nor dropped. */
  live: number;
}

/** What the outbox did to the disk since it was opened (BENCHMARKS.md § MQTT outbox). */
export interface OutboxIo {
  writes: number;
  bytesWritten: number;
  fsyncs: number;
  segmentsCreated: number;
  segmentsDeleted: number;
}

const SEGMENT_NAME = /^(\d{12})-([0-9a-z]+)\.seg$/;

export class Outbox {
  /** Windows dropped by the size or age bound since start (including those found too old at start). */
  dropped = 0;
  /** Lines found unreadable at start (torn by a power cut). */
  readonly corrupt: number;
  readonly io: OutboxIo = { writes: 0, bytesWritten: 0, fsyncs: 0, segmentsCreated: 0, segmentsDeleted: 0 };
  private entries: OutboxEntry[] = [];
  private head = 0;
  /** Index of the first entry that may still be 'queued' (everything before it is sent or done). */
  private cursor = 0;
  private totalBytes = 0;
  private active: Segment | null = null;
  private unsynced = false;
  private lastSync: number;
  private readonly segmentBytes: number;
  private readonly now: () => number;

  constructor(private readonly options: OutboxOptions) {
    this.now = options.now ?? Date.now;
    this.segmentBytes = options.segmentBytes ?? 1 << 20;
    this.lastSync = this.now();
    mkdirSync(options.dir, { recursive: true });
    this.corrupt = this.load(options.acked?.previous ?? -1);
    this.enforceBounds();
  }

  /** Windows waiting for an acknowledgement. */
  get length(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Highest seq held (queued or in flight), or -1. */
  get lastSeq(): number {
    return this.length > 0 ? this.entries[this.entries.length - 1]!.seq : -1;
  }

  /** How close to its bounds (size or age, whichever is nearer): 0 empty, 1 at the bound (the oldest are being dropped). */
  get fill(): number {
    const oldest = this.oldestCapturedAt;
    const age = oldest === null ? 0 : (this.now() - oldest) / this.options.maxAgeMs;
    return Math.min(1, Math.max(this.totalBytes / this.options.maxBytes, age));
  }

  get oldestCapturedAt(): number | null {
    return this.length > 0 ? this.entries[this.head]!.capturedAt : null;
  }

  /** Adds a window; `writeNow` when there is no connection to send it on. */
  push(seq: number, topic: string, payload: string, capturedAt: number, writeNow: boolean): void {
    const bytes = Buffer.byteLength(payload) + Buffer.byteLength(topic) + 24;
    const entry: OutboxEntry = { seq, topic, payload, capturedAt, bytes, state: 'queued', sentAt: 0, segment: null };
    this.entries.push(entry);
    this.totalBytes += bytes;
    if (writeNow) this.write([entry]);
    this.enforceBounds();
  }

  /** The next window to send, in seq order, marked as sent; null when every window is sent or done. */
  takeNext(): OutboxEntry | null {
    for (; this.cursor < this.entries.length; this.cursor++) {
      const entry = this.entries[this.cursor]!;
      if (entry.state === 'queued') {
        entry.state = 'sent';
        entry.sentAt = this.now();
        this.cursor++;
        return entry;
      }
    }
    return null;
  }

  /** The broker acknowledged `entry`: forget it (and its segment once it holds nothing else). */
  ack(entry: OutboxEntry): void {
    if (entry.state === 'done') return;
    this.release(entry);
    this.advanceHead();
  }

  /**
   * The connection dropped: whatever was in flight will be sent again, in order, and is written ahead now (the
   * process may not live to see the broker again).
   */
  requeueSent(): void {
    const unwritten: OutboxEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state === 'sent') entry.state = 'queued';
      if (entry.state === 'queued' && entry.segment === null) unwritten.push(entry);
    }
    this.cursor = this.head;
    this.write(unwritten);
  }

  /** Periodic duties (call every second or so): write ahead what waits too long for its ack, age bound, fsync. */
  tick(): void {
    const now = this.now();
    const late: OutboxEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state === 'sent' && entry.segment === null && now - entry.sentAt >= this.options.writeAheadAfterMs)
        late.push(entry);
    }
    this.write(late);
    this.enforceBounds();
    if (this.unsynced && now - this.lastSync >= this.options.syncIntervalMs) this.sync();
  }

  /** Clean stop (SIGTERM): everything not yet acknowledged is written and synced; the next start sends it. */
  close(): void {
    const unwritten: OutboxEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state !== 'done' && entry.segment === null) unwritten.push(entry);
    }
    this.write(unwritten);
    this.sync();
    if (this.active?.fd != null) closeSync(this.active.fd);
    this.active = null;
  }

  private write(batch: OutboxEntry[]): void {
    if (batch.length === 0) return;
    let segment = this.activeSegment(batch[0]!.seq);
    let text = '';
    const flush = () => {
      if (text === '') return;
      const written = writeSync(segment.fd!, text);
      segment.bytes += written;
      this.io.writes++;
      this.io.bytesWritten += written;
      this.unsynced = true;
      text = '';
    };
    for (const entry of batch) {
      if (segment.bytes + text.length >= this.segmentBytes && segment.live > 0) {
        flush();
        this.sealActive();
        segment = this.activeSegment(entry.seq);
      }
      text += `${entry.seq}\t${entry.capturedAt}\t${entry.topic}\t${entry.payload}\n`;
      entry.segment = segment;
      segment.live++;
    }
    flush();
  }

  private sync(): void {
    if (this.unsynced && this.active?.fd != null) {
      fdatasyncSync(this.active.fd);
      this.io.fsyncs++;
    }
    this.unsynced = false;
    this.lastSync = this.now();
  }

  /** The segment appends go to; a new one is named after the first seq written into it. */
  private activeSegment(first: number): Segment {
    if (this.active) return this.active;
    const file = path.join(this.options.dir, `${String(first).padStart(12, '0')}-${this.now().toString(36)}.seg`);
    this.active = { file, fd: openSync(file, 'a'), bytes: 0, live: 0 };
    // The new name must survive a power cut too: sync the directory once per segment.
    syncDir(this.options.dir);
    this.io.fsyncs++;
    this.io.segmentsCreated++;
    return this.active;
  }

  /** A full segment: synced and closed; the next write starts a new one. */
  private sealActive(): void {
    this.sync();
    if (this.active?.fd != null) closeSync(this.active.fd);
    if (this.active) this.active.fd = null;
    this.active = null;
  }

  private release(entry: OutboxEntry): void {
    entry.state = 'done';
    this.totalBytes -= entry.bytes;
    const segment = entry.segment;
    if (segment && --segment.live === 0) {
      if (segment === this.active) {
        closeSync(segment.fd!);
        this.active = null;
        this.unsynced = false;
      }
      unlinkSync(segment.file);
      this.io.segmentsDeleted++;
    }
  }

  private advanceHead(): void {
    const before = this.head;
    while (this.head < this.entries.length && this.entries[this.head]!.state === 'done') this.head++;
    if (this.head > before) this.options.acked?.write(this.entries[this.head - 1]!.seq);
    if (this.cursor < this.head) this.cursor = this.head;
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.head = 0;
    }
  }

  private enforceBounds(): void {
    const oldestAllowed = this.now() - this.options.maxAgeMs;
    while (this.length > 0) {
      const oldest = this.entries[this.head]!;
      if (this.totalBytes <= this.options.maxBytes && oldest.capturedAt >= oldestAllowed) break;
      this.release(oldest);
      this.dropped++;
      this.advanceHead();
    }
  }

  /** Reads the segments a previous run left (in seq order); returns the number of unreadable lines. */
  private load(ackedThrough: number): number {
    let corrupt = 0;
    const files = readdirSync(this.options.dir)
      .filter((name) => SEGMENT_NAME.test(name))
      .sort();
    for (const name of files) {
      const segment: Segment = { file: path.join(this.options.dir, name), fd: null, bytes: 0, live: 0 };
      const text = readFileSync(segment.file, 'utf8');
      segment.bytes = Buffer.byteLength(text);
      const lines = text.split('\n');
      lines.pop(); // after the last '\n': empty, or a line torn by a power cut
      if (text.length > 0 && !text.endsWith('\n')) corrupt++;
      for (const line of lines) {
        const parsed = parseLine(line);
        if (!parsed) {
          corrupt++;
          continue;
        }
        if (parsed.seq <= ackedThrough || parsed.seq <= this.lastSeq) continue;
        const entry: OutboxEntry = {
          ...parsed,
          bytes: Buffer.byteLength(parsed.payload) + Buffer.byteLength(parsed.topic) + 24,
          state: 'queued',
          sentAt: 0,
          segment,
        };
        segment.live++;
        this.entries.push(entry);
        this.totalBytes += entry.bytes;
      }
      if (segment.live === 0) {
        unlinkSync(segment.file);
        this.io.segmentsDeleted++;
      }
    }
    return corrupt;
  }
}

function parseLine(line: string): { seq: number; capturedAt: number; topic: string; payload: string } | null {
  const a = line.indexOf('\t');
  const b = line.indexOf('\t', a + 1);
  const c = line.indexOf('\t', b + 1);
  if (a <= 0 || b <= a || c <= b) return null;
  const seq = Number(line.slice(0, a));
  const capturedAt = Number(line.slice(a + 1, b));
  const payload = line.slice(c + 1);
  if (!Number.isSafeInteger(seq) || !Number.isFinite(capturedAt) || !payload.startsWith('{') || !payload.endsWith('}'))
    return null;
  return { seq, capturedAt, topic: line.slice(b + 1, c), payload };
}

/** One above the highest first seq named by a segment in `dir` (0 when none): a floor that damaged records cannot lower. */
export function segmentSeqFloor(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  return Math.max(0, ...names.map((name) => Number(SEGMENT_NAME.exec(name)?.[1] ?? -1) + 1));
}
