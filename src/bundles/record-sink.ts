/**
 * The daemon record as an output: keeps `.daemon-<pid>.json` (src/bundles/daemon-record.ts) in the daemon's RAM folder
 * and, when model.bundle is a store's `current` link, in the store, saying which bundle this daemon labels with, how
 * many reloads it was asked for and how the last one ended. `avscene reload --wait` (the unit's ExecReload) and
 * `avscene bundle install` (and the OTA engines calling it) learn from it whether the daemon took a new bundle or
 * refused it, and why. Written at start and around reloads only: never per window.
 */
import { rmSync } from 'node:fs';
import { daemonRecordFile, liveDaemons, processStartTime, type DaemonRecord } from './daemon-record.js';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import type { HealthSnapshot, ReloadResult, RunningModel, SceneSink, WindowResult } from '../publish/sink.js';

export class DaemonRecordSink implements SceneSink {
  readonly description: string;
  private readonly files: string[];
  private readonly startTime = processStartTime('self') ?? 0;
  private model: RunningModel | null = null;
  private reloads: NonNullable<DaemonRecord['reloads']> = { requested: 0 };
  private failed = new Set<string>();

  /** `folders`: where the record is kept (the RAM folder, the bundle store). */
  constructor(
    private readonly folders: string[],
    private readonly logger: Logger,
  ) {
    this.files = folders.map((folder) => daemonRecordFile(folder, process.pid));
    this.description = `daemon record ${this.files.join(', ')}`;
  }

  async start(): Promise<void> {
    // Records of daemons killed without a clean stop (SIGKILL, out of memory) are removed here.
    for (const folder of this.folders) await liveDaemons(folder).catch(() => undefined);
  }

  publishWindow(_result: WindowResult): void {}

  publishHealth(_snapshot: HealthSnapshot): void {}

  modelChanged(model: RunningModel): void {
    this.model = model;
    this.write();
  }

  reloading(_done: Promise<void>, request: number): void {
    this.reloads = { ...this.reloads, requested: request };
    this.write();
  }

  reloaded(result: ReloadResult): void {
    this.reloads = { ...this.reloads, finished: result };
    this.write();
  }

  stats(): Record<string, number> {
    return {};
  }

  async close(): Promise<void> {
    // Stopped: a new bundle is loaded at the next start, nobody to wait for.
    for (const file of this.files) rmSync(file, { force: true });
  }

  private write(): void {
    if (!this.model) return;
    const { bundle, sha256, signed, since, lastReload } = this.model;
    const record: DaemonRecord = {
      pid: process.pid,
      startTime: this.startTime,
      bundle: { name: bundle.name, version: bundle.version, sha256, signed },
      since,
      ...(lastReload ? { lastReload } : {}),
      reloads: this.reloads,
    };
    const text = `${JSON.stringify(record, null, 2)}\n`;
    for (const file of this.files) {
      try {
        // A few small writes per reload, between two windows: the file must be complete when a waiter reads it.
        writeFileAtomic(file, text);
        this.failed.delete(file);
      } catch (err) {
        if (this.failed.has(file)) continue;
        this.failed.add(file);
        this.logger.warn(
          { file, err: (err as Error).message },
          'cannot write the daemon record: `avscene reload --wait` and `avscene bundle install` will not see this daemon ' +
            'take or refuse bundles (let the daemon user write the bundles directory, as the package sets it up)',
        );
      }
    }
  }
}
