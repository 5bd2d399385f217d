/**
 * The bundles directory of a device (default /var/lib/avscene/bundles):
 *
 *   <root>/<name>-<version>/    one directory per installed bundle (bundle.json, bundle.sig, the ONNX files)
 *   <root>/current              symbolic link to the active one: model.bundle points here
 *   <root>/installed.json       install order (oldest first), bundles rolled back marked: what `rollback` goes back
 *                               through (skipping those) and what `keep` prunes (those first, then the oldest)
 *
 * Every step that a power cut could interrupt leaves the device runnable: a bundle is copied (and fsynced) into a
 * hidden staging directory and renamed into place only when complete and verified, `current` is replaced by
 * rename(2) of a new link (atomic), and installed.json is written beside and renamed over. Bundles this store did not
 * install (copied by hand) are listed but never deleted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { BundleError, loadBundle, MANIFEST_FILE, type Bundle, type BundleManifest } from '../inference/index.js';
import { SIGNATURE_FILE } from '../inference/bundle-signature.js';
import { checkArchive, extractArchive, isArchive, tooLarge } from './archive.js';
import { errnoInWords } from '../util/input-file.js';
import { processAlive } from '../util/process-alive.js';
import { BundleStoreError } from './store-error.js';

export { BundleStoreError };

export const DEFAULT_BUNDLES_DIR = '/var/lib/avscene/bundles';
export const CURRENT_LINK = 'current';
const HISTORY_FILE = 'installed.json';
const STAGING_PREFIX = '.incoming-';
/** What a bundle name or version may hold: it becomes a folder name in the store. */
const SAFE_PART = /^[A-Za-z0-9._-]+$/;

interface HistoryEntry {
  dir: string;
  installedAt: string;
  rolledBack?: true;
}

export interface ListedBundle {
  /** Directory name inside the store, e.g. demo-audio-1.0.0. */
  dir: string;
  active: boolean;
  /** Absent when the directory holds no readable bundle.json. */
  manifest?: Pick<BundleManifest, 'name' | 'version' | 'created'>;
  installedAt?: string;
  /** Rolled back from: `rollback` does not return to it, pruning removes it first. */
  rolledBack?: true;
  /** SHA-256 of its bundle.json (which pins every file): the identity the daemon reports. */
  sha256?: string;
  signature: SignatureState;
  problem?: string;
}

export interface InstallResult {
  bundle: Bundle;
  dir: string;
  previous: string | null;
  /** Directories removed to keep the store at `keep` bundles. */
  removed: string[];
  /** True when this exact bundle (same bundle.json SHA-256) was already installed and was only activated. */
  reused: boolean;
}

export interface InstallOptions {
  /** Bundles to keep, the active one included (older ones installed by this store are deleted). At least 2. */
  keep: number;
  /** Largest bundle taken, in bytes (an archive's unpacked size, or a directory's files): checked before anything is
   *  written, so a crafted archive cannot fill the disk. */
  maxBytes: number;
  /** model.publicKey: the bundle must be signed with its private half. */
  publicKey?: string;
  /** Further checks of the verified bundle before it becomes active (e.g. open its sessions and classify a window). */
  check?: (bundle: Bundle) => Promise<void>;
  /**
   * Runs once `current` names the new bundle: hands it to the running daemon and waits until it labels with it. When
   * it throws (the daemon refused it, stopped, or did not confirm in time), `current` goes back to the previous bundle,
   * a bundle this install copied in is removed again, and the error is thrown on.
   */
  handOver?: (bundle: Bundle) => Promise<void>;
}

export class BundleStore {
  constructor(readonly root: string) {}

  get currentLink(): string {
    return path.join(this.root, CURRENT_LINK);
  }

  /** Directory name `current` points at, or null when there is none yet. */
  async active(): Promise<string | null> {
    let target: string;
    try {
      target = await readlink(this.currentLink);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EINVAL')
        throw new BundleStoreError(
          `${this.currentLink} is not a symbolic link; move it away (it may be a bundle copied by hand) so that bundle install can manage it`,
        );
      throw err;
    }
    return path.basename(target);
  }

  /** Verifies the bundle in `source` (a directory or a .tar.gz), copies it into the store, makes it active, prunes. */
  async install(source: string, options: InstallOptions): Promise<InstallResult> {
    if (options.keep < 2)
      throw new BundleStoreError(
        `keep must be at least 2 (the active bundle and one to roll back to), got ${options.keep}`,
      );
    const archive = await isArchive(source);
    if (archive) await checkArchive(source, options.maxBytes); // before anything is written
    await mkdir(this.root, { recursive: true });
    await this.removeStaleStaging();
    const previous = await this.active();
    const staging = path.join(this.root, `${STAGING_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(staging);
    try {
      const sourceDir = archive ? await extractArchive(source, path.join(staging, 'archive')) : path.resolve(source);
      const candidate = await loadBundle(sourceDir, { publicKey: options.publicKey });
      const dir = this.folderFor(candidate.manifest);
      const target = path.join(this.root, dir);
      if (!archive) await checkSize(candidate, options.maxBytes);
      const existing = await this.readInstalled(target);
      let bundle: Bundle;
      if (existing) {
        if (existing.sha256 !== candidate.sha256) {
          throw new BundleStoreError(
            `${target} is already installed with a different bundle.json (SHA-256 ${existing.sha256.slice(0, 12)}…, new ${candidate.sha256.slice(0, 12)}…): give the new bundle its own version (bundle.json "version") and install that`,
          );
        }
        bundle = await loadBundle(target, { publicKey: options.publicKey });
        await options.check?.(bundle);
      } else {
        const copy = path.join(staging, dir);
        await copyBundle(candidate, copy);
        const staged = await loadBundle(copy, { publicKey: options.publicKey }); // what landed on disk, not what we meant to write
        await options.check?.(staged);
        await rename(copy, target);
        await syncDir(this.root);
        bundle = { ...staged, dir: target };
      }
      await this.activate(dir);
      try {
        await options.handOver?.(bundle);
      } catch (err) {
        await this.restore(previous);
        if (!existing) await rm(target, { recursive: true, force: true });
        throw err;
      }
      await this.recordInstall(dir);
      const removed = await this.prune(options.keep);
      return { bundle, dir, previous, removed, reused: existing !== null };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Makes the bundle that was active before the active one active again: the newest installed before it that was not
   * itself rolled back. The active one is marked rolled back, so a second rollback goes further back. `handOver` as
   * for install.
   */
  async rollback(
    publicKey?: string,
    handOver?: (bundle: Bundle) => Promise<void>,
  ): Promise<{ from: string; to: string; bundle: Bundle }> {
    await this.removeStaleStaging();
    const active = await this.active();
    if (active === null)
      throw new BundleStoreError(`no bundle is active in ${this.root} (no ${CURRENT_LINK} link): nothing to roll back`);
    const history = await this.history();
    const at = history.findIndex((e) => e.dir === active);
    const earlier = history
      .slice(0, at < 0 ? history.length : at)
      .filter((e) => !e.rolledBack)
      .reverse();
    for (const entry of earlier) {
      const candidate = path.join(this.root, entry.dir);
      if (!(await exists(candidate))) continue;
      const bundle = await loadBundle(candidate, { publicKey }); // refuse to go back to a bundle that no longer verifies
      await this.activate(entry.dir);
      try {
        await handOver?.(bundle); // as for install: a bundle the daemon will not take does not stay `current`
      } catch (err) {
        await this.activate(active);
        throw err;
      }
      await this.writeHistory(history.map((e) => (e.dir === active ? { ...e, rolledBack: true as const } : e)));
      return { from: active, to: entry.dir, bundle };
    }
    throw new BundleStoreError(
      `no bundle installed before ${active} is left in ${this.root} to roll back to (see \`avscene bundle list\`)`,
    );
  }

  /** Every bundle directory in the store, in install order (ones not installed by this store first), active one marked. */
  async list(publicKey?: string): Promise<ListedBundle[]> {
    await this.removeStaleStaging();
    // A store that does not exist (yet) lists as empty; `bundle list` says so first (requireRoot).
    const absent = (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') throw err;
    };
    const active = await this.active().catch((err: NodeJS.ErrnoException) => absent(err) ?? null);
    const history = await this.history();
    const names = ((await readdir(this.root, { withFileTypes: true }).catch(absent)) ?? [])
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name);
    const order = (dir: string) => history.findIndex((e) => e.dir === dir);
    names.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    return Promise.all(
      names.map(async (dir): Promise<ListedBundle> => {
        const full = path.join(this.root, dir);
        const entry = history.find((e) => e.dir === dir);
        const known = {
          dir,
          active: dir === active,
          installedAt: entry?.installedAt,
          ...(entry?.rolledBack ? { rolledBack: true as const } : {}),
        };
        const signature = await signatureOf(full, publicKey);
        try {
          const bytes = await readFile(path.join(full, MANIFEST_FILE));
          const m = JSON.parse(bytes.toString('utf8')) as BundleManifest;
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          return { ...known, manifest: { name: m.name, version: m.version, created: m.created }, sha256, signature };
        } catch (err) {
          const why = err instanceof SyntaxError ? 'not valid JSON' : errnoInWords(err as NodeJS.ErrnoException);
          return { ...known, signature, problem: `no readable ${MANIFEST_FILE} (it ${why})` };
        }
      }),
    );
  }

  /** `current` back to what it was before an install that failed at the hand-over (no link when there was none). */
  private async restore(previous: string | null): Promise<void> {
    if (previous !== null) return this.activate(previous);
    await rm(this.currentLink, { force: true });
    await syncDir(this.root);
  }

  /**
   * The installed bundles the daemon may fall back to when `current` is missing, dangling or refused: those this store
   * installed, newest first, rolled-back ones last (they were left for a reason, but beat a dark device).
   */
  async fallbackCandidates(): Promise<string[]> {
    const active = await this.active().catch(() => null);
    const history = (await this.history()).filter((e) => e.dir !== active).reverse();
    return [...history.filter((e) => !e.rolledBack), ...history.filter((e) => e.rolledBack)].map((e) =>
      path.join(this.root, e.dir),
    );
  }

  /** The store folder of a bundle: <name>-<version>, both parts safe as one path component (bundle.json is input). */
  private folderFor(m: BundleManifest): string {
    for (const [key, value] of [
      ['name', m.name],
      ['version', m.version],
    ] as const) {
      if (!SAFE_PART.test(value) || value === '.' || value === '..')
        throw new BundleStoreError(
          `bundle.json ${key} "${value}" may hold only letters, digits, ".", "_" and "-" (it names the bundle's folder in ${this.root}); fix it in the export and install again`,
        );
    }
    const dir = `${m.name}-${m.version}`;
    if (path.dirname(path.join(this.root, dir)) !== this.root)
      throw new BundleStoreError(`bundle folder "${dir}" would not lie directly in ${this.root}`);
    return dir;
  }

  /** A clear error when the store directory is missing or not a directory (`bundle list` has nothing to say then). */
  async requireRoot(): Promise<void> {
    const info = await stat(this.root).catch((err: NodeJS.ErrnoException) => {
      throw new BundleStoreError(
        `bundles directory ${this.root} ${errnoInWords(err)}: check --dir (or model.bundle), or install a bundle first (avscene bundle install DIR|FILE.tar.gz)`,
      );
    });
    if (!info.isDirectory())
      throw new BundleStoreError(`bundles directory ${this.root} is not a directory: check --dir (or model.bundle)`);
  }

  /**
   * Removes what an interrupted store command left behind (a staging folder, a temporary link or history file), unless
   * the process that made it still runs (a concurrent install). Every store command calls it, so a crash is mended by
   * the next command instead of hiding space and half-written bundles.
   */
  private async removeStaleStaging(): Promise<string[]> {
    const entries = await readdir(this.root).catch(() => [] as string[]);
    const stale = entries.filter((name) => {
      const m = /^(?:\.incoming-|\.current-)(?:(\d+)-)?|^installed\.json\.(\d+)\.tmp$/.exec(name);
      if (!m) return false;
      const pid = m[1] ?? m[2];
      return pid === undefined || !processAlive(Number(pid));
    });
    for (const name of stale) await rm(path.join(this.root, name), { recursive: true, force: true });
    return stale;
  }

  /** Points `current` at `dir` atomically: a new link under a temporary name, renamed over the old one. */
  private async activate(dir: string): Promise<void> {
    await this.active(); // refuses a `current` that is a real directory
    const tmp = path.join(this.root, `.${CURRENT_LINK}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await symlink(dir, tmp); // relative: the store can be moved or mounted elsewhere
    await rename(tmp, this.currentLink);
    await syncDir(this.root);
  }

  private async readInstalled(dir: string): Promise<Bundle | null> {
    if (!(await exists(dir))) return null;
    try {
      return await loadBundle(dir);
    } catch (err) {
      if (err instanceof BundleError) {
        throw new BundleStoreError(
          `${dir} exists but does not hold an intact bundle (${err.problem}); remove it, then install again`,
        );
      }
      throw err;
    }
  }

  private async history(): Promise<HistoryEntry[]> {
    try {
      const parsed = JSON.parse(await readFile(path.join(this.root, HISTORY_FILE), 'utf8')) as unknown;
      return Array.isArray(parsed) ? parsed.filter((e): e is HistoryEntry => typeof e?.dir === 'string') : [];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return [];
      throw err;
    }
  }

  private async writeHistory(entries: HistoryEntry[]): Promise<void> {
    const file = path.join(this.root, HISTORY_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(entries, null, 2) + '\n');
    await syncFile(tmp);
    await rename(tmp, file);
    await syncDir(this.root);
  }

  private async recordInstall(dir: string): Promise<void> {
    const entries = (await this.history()).filter((e) => e.dir !== dir);
    entries.push({ dir, installedAt: new Date().toISOString() });
    await this.writeHistory(entries);
  }

  /** Deletes bundles this store installed beyond `keep`: rolled-back ones first, then the oldest; never the active one. */
  private async prune(keep: number): Promise<string[]> {
    const active = await this.active();
    const entries = await this.history();
    const candidates = [...entries.filter((e) => e.rolledBack), ...entries.filter((e) => !e.rolledBack)].filter(
      (e) => e.dir !== active,
    );
    const removed = candidates.slice(0, Math.max(0, entries.length - keep)).map((e) => e.dir);
    if (removed.length === 0) return removed;
    await this.writeHistory(entries.filter((e) => !removed.includes(e.dir))); // forget first: a power cut leaves a stray folder, never a dangling entry
    for (const dir of removed) await rm(path.join(this.root, dir), { recursive: true, force: true });
    return removed;
  }
}

/** bundle.json and the files it names. */
function bundleFiles(m: BundleManifest): string[] {
  return [
    ...new Set([
      MANIFEST_FILE,
      ...[m.audioNets, m.imageNets, m.heads].flatMap((group) => Object.values(group).map((spec) => spec.file)),
    ]),
  ];
}

/** Copies bundle.json, bundle.sig and the files the manifest names (nothing else), each fsynced. */
async function copyBundle(bundle: Bundle, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const files = new Set(bundleFiles(bundle.manifest));
  if (await exists(path.join(bundle.dir, SIGNATURE_FILE))) files.add(SIGNATURE_FILE);
  for (const file of files) {
    const to = path.join(dest, file);
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(path.join(bundle.dir, file), to, constants.COPYFILE_FICLONE);
    await syncFile(to);
  }
  await syncDir(dest);
}

/** Whether a signature is there and was checked: the one meaning of "signed" in list, install and the daemon's info. */
export type SignatureState = 'verified' | 'not verified' | 'unsigned';

export function signatureText(state: SignatureState): string {
  return state === 'verified'
    ? 'signed, signature verified'
    : state === 'not verified'
      ? 'signature present, not verified (no model.publicKey)'
      : 'unsigned';
}

export async function signatureOf(dir: string, publicKey?: string): Promise<SignatureState> {
  if (!(await exists(path.join(dir, SIGNATURE_FILE)))) return 'unsigned';
  if (!publicKey) return 'not verified';
  return loadBundle(dir, { publicKey }).then(
    () => 'verified' as const,
    () => 'not verified' as const,
  );
}

/** Refuses a bundle directory whose files add up to more than `maxBytes` (before they are copied). */
async function checkSize(bundle: Bundle, maxBytes: number): Promise<void> {
  let total = 0;
  for (const file of bundleFiles(bundle.manifest)) total += (await stat(path.join(bundle.dir, file))).size;
  if (total > maxBytes) throw tooLarge(bundle.dir, total, maxBytes);
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function syncFile(file: string): Promise<void> {
  const fd = await open(file, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  // A directory's fsync makes renames and new links in it durable; some file systems refuse it, which is harmless here.
  await syncFile(dir).catch(() => undefined);
}

/** The bundles directory that a model.bundle setting implies: the parent of a `…/current` link, else the default. */
export function bundlesDirFor(modelBundle: string): string {
  return path.basename(modelBundle) === CURRENT_LINK ? path.dirname(path.resolve(modelBundle)) : DEFAULT_BUNDLES_DIR;
}
