/**
 * The durable outbox of the `window` stream: every window the broker has not acknowledged, in `seq` order, kept in
 * memory and written ahead to append-only segment files under `state.dir/mqtt/<device.id>/outbox/` only when it is at
 * risk. Record format and reading it back: outbox-records.ts.
 *
 * Disk policy (SD cards and eMMC wear out by writes; README § MQTT delivery):
 * - While the broker acknowledges normally, a window never touches the disk: it is sent, acknowledged within
 *   milliseconds, and forgotten.
 * - A window is written (one append, no fsync) when there is no connection to send it on, when its connection drops,
 *   or when it is still unacknowledged `writeAheadAfterMs` after it was queued, whether in flight or waiting behind
 *   those in flight. An append lands in the page cache, which a killed process (SIGKILL, OOM) does not lose.
 * - Appends are made durable with one fdatasync per `syncIntervalMs` at most, and only when there are new ones: a power
 *   cut loses at most that much of an outage. SIGTERM writes and syncs everything still pending.
 * - A segment whose windows are all acknowledged (or dropped) is deleted; a new one starts after `segmentBytes`.
 * - Bounded by `maxBytes` (in memory and on disk) and `maxAgeMs` (on a monotonic clock: a board without a real-time
 *   clock steps its wall clock at boot): past either, the oldest windows not in flight are dropped and counted.
 * Storage faults (full, read-only, failing card) never reach the caller: the windows stay in memory, the fault is
 * reported to `storage`, and a write is tried again every `probeMs` until one succeeds. A write cut short is cut back
 * to its last whole record, so the next append never glues onto half a record.
 */
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { syncDir } from '../state/atomic-file.js';
import type { RuntimeFile } from '../state/runtime-file.js';
import type { StateDirHealth } from '../state/state-dir-health.js';
import {
  type BadRecord,
  encodeRecord,
  type OutboxRecord,
  parseSegment,
  recordBytes,
  SEGMENT_NAME,
  segmentName,
} from './outbox-records.js';

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
  /** Where storage faults are reported (shared with the other writers under state.dir). */
  storage?: StateDirHealth;
  /** Says when the bounds start and stop dropping windows. */
  logger?: Logger;
  /** While writes fail: one more try this often. */
  probeMs?: number;
  /** Monotonic milliseconds (write-ahead delay, age bound, fsync pacing). */
  now?: () => number;
  /** Wall-clock milliseconds since the epoch: only to age the windows a previous run left. */
  wallNow?: () => number;
}

export interface OutboxEntry extends OutboxRecord {
  /** Bytes of its record on disk (and what it counts against maxBytes in memory). */
  readonly bytes: number;
  /** When it was queued (monotonic ms): the write-ahead delay and the age bound count from here. */
  readonly enqueuedAt: number;
  state: 'queued' | 'sent' | 'done';
  sentAt: number;
  /** Not sent again before this (monotonic ms): a window the broker refused waits out its backoff. */
  notBefore: number;
  /** Times the broker refused it (MQTT 5 reason code ≥ 0x80). */
  refusals: number;
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
  /** Writes, fsyncs, segment creations and deletions that failed with a storage fault. */
  failures: number;
}

export class Outbox {
  /** Windows dropped by the size or age bound since start (including those found too old at start). */
  dropped = 0;
  /** Records found damaged at start (failed checksum or format, cut short), each skipped. */
  readonly corrupt: number;
  /** Where each damaged record was (segment file, byte offset). */
  readonly damaged: BadRecord[] = [];
  readonly io: OutboxIo = {
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
    failures: 0,
  };
  private entries: OutboxEntry[] = [];
  private head = 0;
  /** Index of the first entry that may still be 'queued' (everything before it is sent or done). */
  private cursor = 0;
  private live = 0;
  private totalBytes = 0;
  /** Bytes of the segment files that exist (on-disk side of maxBytes). */
  private diskBytes = 0;
  private active: Segment | null = null;
  private unsynced = false;
  private lastSync: number;
  /** Set while writes fail: when the last one was tried. */
  private failingSince: number | null = null;
  private lastProbe = 0;
  /** Segment files whose deletion failed (read-only card): tried again once writes work. */
  private undeleted: string[] = [];
  /** Windows dropped by the bounds since they last started dropping (null: not dropping). */
  private dropping: number | null = null;
  private readonly segmentBytes: number;
  private readonly now: () => number;

  constructor(private readonly options: OutboxOptions) {
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    // A segment is deleted only once all its windows are gone: small segments keep the disk close to maxBytes.
    this.segmentBytes = options.segmentBytes ?? Math.max(1, Math.min(1 << 20, Math.floor(options.maxBytes / 16)));
    this.lastSync = this.now();
    this.corrupt = this.load(options.acked?.previous ?? -1);
    this.enforceBounds();
  }

  /** Windows waiting for an acknowledgement (queued or in flight; not those acknowledged, dropped or discarded). */
  get length(): number {
    return this.live;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** False while writes to the outbox's directory fail (full, read-only, failing card): windows are in memory only. */
  get persisting(): boolean {
    return this.failingSince === null;
  }

  /** Windows held in memory only: not (yet) written to a segment. */
  get unwritten(): number {
    let n = 0;
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state !== 'done' && entry.segment === null) n++;
    }
    return n;
  }

  /** Highest seq held (queued or in flight), or -1. */
  get lastSeq(): number {
    for (let i = this.entries.length - 1; i >= this.head; i--) {
      if (this.entries[i]!.state !== 'done') return this.entries[i]!.seq;
    }
    return -1;
  }

  /** How close to its bounds (size or age, whichever is nearer): 0 empty, 1 at the bound (the oldest are being dropped). */
  get fill(): number {
    const oldest = this.oldestLive();
    const age = oldest === null ? 0 : (this.now() - oldest.enqueuedAt) / this.options.maxAgeMs;
    const bytes = Math.max(this.totalBytes, this.diskBytes) / this.options.maxBytes;
    return Math.min(1, Math.max(bytes, age));
  }

  /** Capture time (wall clock, ms) of the oldest window not acknowledged, or null. */
  get oldestCapturedAt(): number | null {
    return this.oldestLive()?.capturedAt ?? null;
  }

  /** Adds a window; `writeNow` when there is no connection to send it on. */
  push(seq: number, topic: string, payload: string, capturedAt: number, writeNow: boolean): void {
    const record = { seq, topic, payload, capturedAt: Math.round(capturedAt) };
    const entry = this.entry(record, recordBytes(record, Buffer.byteLength(payload)), this.now(), null);
    this.entries.push(entry);
    this.live++;
    this.totalBytes += entry.bytes;
    if (writeNow && this.mayWrite()) this.write([entry]);
    this.enforceBounds();
  }

  /** The next window to send, in seq order, marked as sent; null when every window is sent, done or waiting out a refusal. */
  takeNext(): OutboxEntry | null {
    const now = this.now();
    let waiting = -1;
    for (let i = this.cursor; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state !== 'queued') continue;
      if (entry.notBefore > now) {
        if (waiting < 0) waiting = i;
        continue;
      }
      entry.state = 'sent';
      entry.sentAt = now;
      this.cursor = waiting >= 0 ? waiting : i + 1;
      return entry;
    }
    this.cursor = waiting >= 0 ? waiting : this.entries.length;
    return null;
  }

  /** The broker acknowledged `entry`: forget it (and its segment once it holds nothing else). */
  ack(entry: OutboxEntry): void {
    if (entry.state === 'done') return;
    this.release(entry);
    this.advanceHead();
  }

  /** The broker refused `entry`: sent again, in its turn, `retryInMs` from now. */
  refused(entry: OutboxEntry, retryInMs: number): void {
    if (entry.state !== 'sent') return;
    entry.state = 'queued';
    entry.refusals++;
    entry.notBefore = this.now() + retryInMs;
    this.cursor = this.head;
  }

  /** Forgets `entry` without an acknowledgement (the broker refused it too often); the caller counts it. */
  discard(entry: OutboxEntry): void {
    this.ack(entry);
  }

  /**
   * The connection dropped: whatever was in flight will be sent again, in order, and is written ahead now (the
   * process may not live to see the broker again). Refused windows wait no longer: the next connection may be to a
   * broker whose ACL or quota was fixed, and they go first, in order.
   */
  requeueSent(): void {
    const unwritten: OutboxEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state === 'sent') entry.state = 'queued';
      entry.notBefore = 0;
      if (entry.state === 'queued' && entry.segment === null) unwritten.push(entry);
    }
    this.cursor = this.head;
    if (this.mayWrite()) this.write(unwritten);
  }

  /**
   * Periodic duties (call every second or so): write ahead what has waited too long for its ack, try the disk again
   * while it fails, age bound, fsync.
   */
  tick(): void {
    const now = this.now();
    if (this.failingSince !== null && now - this.lastProbe >= (this.options.probeMs ?? 5000)) {
      // The probe: every window still unwritten (they are all at risk by now), as one append.
      this.lastProbe = now;
      this.write(this.unwrittenEntries(() => true));
      if (this.failingSince === null) this.deleteUndeleted();
    } else if (this.failingSince === null) {
      this.write(this.unwrittenEntries((entry) => now - entry.enqueuedAt >= this.options.writeAheadAfterMs));
    }
    this.enforceBounds();
    if (this.dropping !== null && this.fill < 0.95) {
      this.options.logger?.info(
        { dropped: this.dropping, total: this.dropped },
        `outbox below its bound again: no more windows dropped (${this.dropping} dropped while at it)`,
      );
      this.dropping = null;
    }
    if (this.unsynced && now - this.lastSync >= this.options.syncIntervalMs) this.sync();
  }

  /** Clean stop (SIGTERM): everything not yet acknowledged is written and synced; the next start sends it. */
  close(): void {
    this.write(this.unwrittenEntries(() => true));
    this.sync();
    if (this.active?.fd != null) this.closeFd(this.active.fd);
    this.active = null;
  }

  private entry(record: OutboxRecord, bytes: number, enqueuedAt: number, segment: Segment | null): OutboxEntry {
    return { ...record, bytes, enqueuedAt, state: 'queued', sentAt: 0, notBefore: 0, refusals: 0, segment };
  }

  private oldestLive(): OutboxEntry | null {
    for (let i = this.head; i < this.entries.length; i++) {
      if (this.entries[i]!.state !== 'done') return this.entries[i]!;
    }
    return null;
  }

  private unwrittenEntries(atRisk: (entry: OutboxEntry) => boolean): OutboxEntry[] {
    const found: OutboxEntry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state !== 'done' && entry.segment === null && atRisk(entry)) found.push(entry);
    }
    return found;
  }

  /** While writes fail, only the probe in tick() tries: a failing card is not hit once per window. */
  private mayWrite(): boolean {
    return this.failingSince === null;
  }

  /** Appends `batch` (in segments of segmentBytes); on a storage fault, what was not written stays in memory only. */
  private write(batch: OutboxEntry[]): void {
    if (batch.length === 0) return;
    try {
      let i = 0;
      while (i < batch.length) {
        const segment = this.activeSegment(batch[i]!.seq);
        const chunk: OutboxEntry[] = [];
        let size = segment.bytes;
        while (i < batch.length && (chunk.length === 0 || size + batch[i]!.bytes <= this.segmentBytes)) {
          size += batch[i]!.bytes;
          chunk.push(batch[i++]!);
        }
        this.append(segment, chunk);
        if (segment.bytes >= this.segmentBytes) this.sealActive();
      }
      this.writeSucceeded();
    } catch (err) {
      this.writeFailed(err, 'outbox append');
    }
  }

  /** One write of whole records; a write cut short is completed, or cut back to its last whole record. */
  private append(segment: Segment, chunk: OutboxEntry[]): void {
    const buffer = Buffer.from(chunk.map(encodeRecord).join(''));
    let done = 0;
    try {
      while (done < buffer.length) {
        done += writeSync(segment.fd!, buffer, done, buffer.length - done);
        this.io.writes++;
      }
    } catch (err) {
      let whole = 0;
      let kept = 0;
      while (kept < chunk.length && whole + chunk[kept]!.bytes <= done) whole += chunk[kept++]!.bytes;
      try {
        if (whole < done) ftruncateSync(segment.fd!, segment.bytes + whole);
        done = whole;
      } catch {
        // Not even that (read-only now): the part of a record stays; the checksum finds it at the next start. No
        // more appends to this segment, so nothing is glued onto it.
        this.closeFd(segment.fd!);
        segment.fd = null;
        this.active = null;
      }
      this.wrote(segment, chunk.slice(0, kept), done);
      throw err;
    }
    this.wrote(segment, chunk, done);
  }

  private wrote(segment: Segment, entries: OutboxEntry[], bytes: number): void {
    segment.bytes += bytes;
    this.diskBytes += bytes;
    this.io.bytesWritten += bytes;
    if (entries.length > 0) this.unsynced = true;
    for (const entry of entries) {
      entry.segment = segment;
      segment.live++;
    }
  }

  private writeSucceeded(): void {
    if (this.failingSince !== null) {
      this.failingSince = null;
      this.options.logger?.info(
        { dir: this.options.dir, queued: this.live },
        'outbox: writes succeed again; windows not yet acknowledged are on disk again',
      );
    }
    this.options.storage?.succeeded();
  }

  /**
   * Any error the system reports (an errno code) is survived: besides the four storage faults, ext4 in its error state
   * answers ENOENT to a mkdir, and none of it may stop labelling. Anything else is a bug and is thrown.
   */
  private writeFailed(err: unknown, what: string): void {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) throw err;
    this.io.failures++;
    if (this.failingSince === null) this.failingSince = this.now();
    this.lastProbe = this.now();
    this.options.storage?.failed(what, err as NodeJS.ErrnoException);
  }

  private sync(): void {
    if (this.unsynced && this.active?.fd != null) {
      try {
        fdatasyncSync(this.active.fd);
        this.io.fsyncs++;
      } catch (err) {
        this.writeFailed(err, 'outbox fdatasync');
      }
    }
    this.unsynced = false;
    this.lastSync = this.now();
  }

  /** The segment appends go to; a new one is named after the first seq written into it. */
  private activeSegment(first: number): Segment {
    if (this.active) return this.active;
    mkdirSync(this.options.dir, { recursive: true });
    const file = path.join(this.options.dir, segmentName(first, Date.now()));
    const fd = openSync(file, 'a');
    try {
      // The new name must survive a power cut too: sync the directory once per segment.
      syncDir(this.options.dir);
    } catch (err) {
      this.closeFd(fd);
      this.unlink(file);
      throw err;
    }
    this.active = { file, fd, bytes: 0, live: 0 };
    this.io.fsyncs++;
    this.io.segmentsCreated++;
    return this.active;
  }

  /** A full segment: synced and closed; the next write starts a new one. */
  private sealActive(): void {
    this.sync();
    if (this.active?.fd != null) this.closeFd(this.active.fd);
    if (this.active) this.active.fd = null;
    this.active = null;
  }

  private closeFd(fd: number): void {
    try {
      closeSync(fd);
    } catch {} // EIO on close: the data is what fdatasync said it was; nothing more to do with this descriptor
  }

  private release(entry: OutboxEntry): void {
    entry.state = 'done';
    this.live--;
    this.totalBytes -= entry.bytes;
    const segment = entry.segment;
    if (segment && --segment.live === 0) {
      if (segment === this.active) {
        if (segment.fd != null) this.closeFd(segment.fd);
        this.active = null;
        this.unsynced = false;
      }
      this.diskBytes -= segment.bytes;
      this.unlink(segment.file);
    }
  }

  /** Deletes a segment nothing needs any more; on a read-only card it stays until writes work again. */
  private unlink(file: string): void {
    try {
      unlinkSync(file);
      this.io.segmentsDeleted++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.undeleted.push(file);
      this.writeFailed(err, 'outbox segment deletion');
    }
  }

  private deleteUndeleted(): void {
    const files = this.undeleted;
    this.undeleted = [];
    for (const file of files) this.unlink(file);
  }

  private advanceHead(): void {
    const before = this.head;
    while (this.head < this.entries.length && this.entries[this.head]!.state === 'done') this.head++;
    if (this.head > before) {
      try {
        this.options.acked?.write(this.entries[this.head - 1]!.seq);
      } catch {} // a RAM record that cannot be written only means a window may be sent twice after a SIGKILL
    }
    if (this.cursor < this.head) this.cursor = this.head;
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.head = 0;
    }
  }

  /** Past a bound, the oldest windows go (never one in flight: the broker may have it already). */
  private enforceBounds(): void {
    const { maxBytes, maxAgeMs } = this.options;
    const oldestAllowed = this.now() - maxAgeMs;
    let dropped = 0;
    for (let i = this.head; i < this.entries.length && this.live > 0; i++) {
      const entry = this.entries[i]!;
      const overDisk = this.diskBytes > maxBytes && entry.segment !== null;
      if (this.totalBytes <= maxBytes && !overDisk && entry.enqueuedAt >= oldestAllowed) break;
      if (entry.state !== 'queued') continue;
      this.release(entry);
      dropped++;
    }
    if (dropped === 0) return;
    this.dropped += dropped;
    this.advanceHead();
    if (this.dropping === null) {
      this.dropping = 0;
      this.options.logger?.warn(
        { maxMB: +(maxBytes / 2 ** 20).toFixed(2), maxAgeH: +(maxAgeMs / 3600_000).toFixed(2), queued: this.live },
        'outbox at its bound (mqtt.outbox.maxMB or maxAgeH): dropping the oldest windows from now on, counted in mqttDropped',
      );
    }
    this.dropping += dropped;
  }

  /** Reads the segments a previous run left (checked, in seq order); returns the number of damaged records. */
  private load(ackedThrough: number): number {
    let names: string[] = [];
    try {
      names = readdirSync(this.options.dir).filter((name) => SEGMENT_NAME.test(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      this.writeFailed(err, 'reading the outbox');
      return 0;
    }
    const wallNow = (this.options.wallNow ?? this.options.now ?? Date.now)();
    const now = this.now();
    const found: Array<{ record: OutboxRecord; bytes: number; segment: Segment }> = [];
    const segments: Segment[] = [];
    for (const name of names.sort()) {
      const file = path.join(this.options.dir, name);
      let text: Buffer;
      try {
        text = readFileSync(file);
      } catch (err) {
        this.writeFailed(err, `reading outbox segment ${name}`);
        continue;
      }
      const segment: Segment = { file, fd: null, bytes: text.length, live: 0 };
      segments.push(segment);
      this.diskBytes += text.length;
      const { records, bad } = parseSegment(file, text);
      this.damaged.push(...bad);
      for (const record of records) {
        found.push({ record, bytes: recordBytes(record, Buffer.byteLength(record.payload)), segment });
      }
    }
    // Segments may hold seqs out of order (a window written ahead while an older one was written at reconnection).
    found.sort((a, b) => a.record.seq - b.record.seq);
    let last = ackedThrough;
    for (const { record, bytes, segment } of found) {
      if (record.seq <= last) continue;
      last = record.seq;
      // Age on the wall clock once, from here on monotonic: a clock behind (no RTC yet) makes them new, not old.
      const entry = this.entry(record, bytes, now - Math.max(0, wallNow - record.capturedAt), segment);
      segment.live++;
      this.entries.push(entry);
      this.live++;
      this.totalBytes += entry.bytes;
    }
    for (const segment of segments) {
      if (segment.live > 0) continue;
      this.diskBytes -= segment.bytes;
      this.unlink(segment.file);
    }
    return this.damaged.length;
  }
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
