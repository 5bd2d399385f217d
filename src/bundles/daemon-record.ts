/**
 * The handshake between a daemon and the commands that ask it to reload: `.daemon-<pid>.json` says which bundle it
 * labels with, how many reloads it was asked for and how the last one ended; written at start, when a reload is asked
 * for and when one ends (swap, refusal, nothing to change), removed at a clean stop. Kept in two folders:
 * - the daemon's RAM folder (src/state/runtime-file.ts: /run/avscene under systemd), for any model.bundle:
 *   `avscene reload --pid PID --wait` (the unit's ExecReload) finds it from the daemon's pid and environment;
 * - the bundle store, when model.bundle is `<store>/current`: `bundle install` learns from it whether a daemon runs for
 *   the store (a live process with the start time recorded) and whether it took the new bundle or refused it (and why).
 *
 * A file, not the MQTT `info` topic or the HTTP endpoint: it works with the broker down and the endpoint off.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BundleStoreError } from './store-error.js';
import type { ReloadResult } from '../publish/sink.js';

const PREFIX = '.daemon-';
const SUFFIX = '.json';
const POLL_MS = 100;

export interface DaemonRecord {
  pid: number;
  /** The process's start time (clock ticks since boot, /proc/PID/stat field 22): a reused pid is not this daemon. */
  startTime: number;
  bundle: { name: string; version: string; sha256: string; signed: boolean };
  /** When this bundle began labelling (ISO 8601). */
  since: string;
  lastReload?: { at: string; ok: boolean; error?: string };
  /** Reloads asked for (SIGHUPs, numbered from 1) and the last one that ended (the newest request it answers). */
  reloads?: { requested: number; finished?: ReloadResult };
}

export function daemonRecordFile(storeRoot: string, pid: number): string {
  return path.join(storeRoot, `${PREFIX}${pid}${SUFFIX}`);
}

/** Start time of a process (clock ticks since boot), or null when it does not exist. */
export function processStartTime(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}

/** The records of daemons running now for this store; records of processes gone are removed (best effort). */
export async function liveDaemons(storeRoot: string): Promise<DaemonRecord[]> {
  let names: string[];
  try {
    names = (await readdir(storeRoot)).filter((n) => n.startsWith(PREFIX) && n.endsWith(SUFFIX));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const live: DaemonRecord[] = [];
  for (const name of names) {
    const record = await readRecord(path.join(storeRoot, name));
    if (record && processStartTime(record.pid) === record.startTime) live.push(record);
    else if (record) await rm(path.join(storeRoot, name), { force: true }).catch(() => undefined);
  }
  return live;
}

/** The record in `file`, or null when there is none or it is not one. */
export async function readRecord(file: string): Promise<DaemonRecord | null> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as DaemonRecord;
    return Number.isInteger(r.pid) && typeof r.bundle?.sha256 === 'string' ? r : null;
  } catch {
    return null; // gone between readdir and read, or being replaced (the daemon renames a complete file over it)
  }
}

export interface HandOverOptions {
  storeRoot: string;
  daemons: DaemonRecord[];
  /** SHA-256 of the bundle.json the daemons must end up labelling with. */
  sha256: string;
  /** Only refusals recorded at or after this time (ms since the epoch: just before the daemons were signalled) count. */
  since: number;
  timeoutMs: number;
}

/**
 * Resolves once every daemon labels with the bundle; throws a BundleStoreError with the daemon's own reason when one
 * refused it, stopped, or did not take it within the timeout.
 */
export async function waitForHandOver(options: HandOverOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const pending = new Map(options.daemons.map((d) => [d.pid, d]));
  for (;;) {
    for (const [pid, before] of pending) {
      const record = await readRecord(daemonRecordFile(options.storeRoot, pid));
      if (!record || processStartTime(pid) !== before.startTime) {
        throw new BundleStoreError(
          `the daemon (pid ${pid}) stopped before it took the bundle (journalctl -u avscene, or its log, says why)`,
        );
      }
      if (record.bundle.sha256 === options.sha256) {
        pending.delete(pid);
        continue;
      }
      const reload = record.lastReload;
      if (reload && !reload.ok && Date.parse(reload.at) >= options.since) {
        throw new BundleStoreError(
          `the running daemon (pid ${pid}) refused the bundle and keeps labelling with ${record.bundle.name} ${record.bundle.version}: ${reload.error ?? 'no reason given'}`,
        );
      }
    }
    if (pending.size === 0) return;
    if (Date.now() >= deadline) {
      throw new BundleStoreError(
        `the running daemon (pid ${[...pending.keys()].join(', ')}) did not take the bundle within ${Math.round(options.timeoutMs / 1000)} s ` +
          `(opening a large bundle, or building TensorRT engines, can take longer: raise --timeout)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
