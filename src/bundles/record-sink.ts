/**
 * The bundle store as an output: keeps `<store>/.daemon-<pid>.json` (src/bundles/daemon-record.ts) saying which bundle
 * this daemon labels with and how its last reload ended, so that `avscene bundle install` (and the OTA engines calling
 * it) learns whether the daemon took a new bundle or refused it, and why. Built only when model.bundle is a store's
 * `current` link. Written on a model change only (start, swap, refused reload): never per window.
 */
import { rmSync } from 'node:fs';
import { daemonRecordFile, processStartTime, type DaemonRecord } from './daemon-record.js';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import type { HealthSnapshot, RunningModel, SceneSink, WindowResult } from '../publish/sink.js';

export class StoreRecordSink implements SceneSink {
  readonly description: string;
  private readonly file: string;
  private readonly startTime = processStartTime('self') ?? 0;
  private failed = false;

  constructor(
    storeRoot: string,
    private readonly logger: Logger,
  ) {
    this.file = daemonRecordFile(storeRoot, process.pid);
    this.description = `bundle store record ${this.file}`;
  }

  async start(): Promise<void> {}

  publishWindow(_result: WindowResult): void {}

  publishHealth(_snapshot: HealthSnapshot): void {}

  modelChanged(model: RunningModel): void {
    const { name, version } = model.bundle;
    const record: DaemonRecord = {
      pid: process.pid,
      startTime: this.startTime,
      bundle: { name, version, sha256: model.sha256, signed: model.signed },
      since: model.since,
      ...(model.lastReload ? { lastReload: model.lastReload } : {}),
    };
    try {
      // A few small writes per swap, between two windows: the file must be complete before bundle install reads it.
      writeFileAtomic(this.file, `${JSON.stringify(record, null, 2)}\n`);
      this.failed = false;
    } catch (err) {
      if (this.failed) return;
      this.failed = true;
      this.logger.warn(
        { file: this.file, err: (err as Error).message },
        'cannot write the bundle store record: `avscene bundle install` will not see this daemon take or refuse bundles ' +
          '(let the daemon user write the bundles directory, as the package sets it up)',
      );
    }
  }

  stats(): Record<string, number> {
    return {};
  }

  async close(): Promise<void> {
    rmSync(this.file, { force: true }); // stopped: a new bundle is loaded at the next start, nobody to wait for
  }
}
