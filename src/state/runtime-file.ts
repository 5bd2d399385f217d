/**
 * Numbers kept in RAM-backed storage (tmpfs) that outlive the process but not the boot: written on every change
 * without touching the disk, so a daemon killed with SIGKILL (or by the OOM killer) and restarted knows exactly where
 * it was. Lives under systemd's RuntimeDirectory ($RUNTIME_DIRECTORY), else $XDG_RUNTIME_DIR/avscene, else /dev/shm,
 * in a folder named after the absolute `state.dir`, so two daemons with different state never share one.
 *
 * /dev/shm is writable by every user: a folder someone else made (or a symbolic link planted there) could hand the
 * daemon a record that skips windows, or make it overwrite another file. So the folder must be this user's, mode 0700,
 * and no link is followed (O_NOFOLLOW); otherwise the daemon uses no RAM record and says why.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const FIELD = 24;

export interface RuntimeDir {
  /** The folder for this state.dir's RAM records, or null. */
  dir: string | null;
  /** Why a RAM folder was found but refused (null when none was refused). */
  problem: string | null;
}

/** The RAM-backed folder for `stateDir`, or null when this system has none or it is refused (see openRuntimeDir). */
export function runtimeDirFor(stateDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  return openRuntimeDir(stateDir, env).dir;
}

/** Finds (or creates) the RAM folder for `stateDir` and checks who owns it; `problem` says why one was refused. */
export function openRuntimeDir(stateDir: string, env: NodeJS.ProcessEnv = process.env): RuntimeDir {
  const uid = os.userInfo().uid;
  const base = runtimeBase(env, uid);
  if (!base) return { dir: null, problem: null };
  const key = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16);
  const dir = path.join(base, key);
  const problem = ensureOwnFolder(base, uid, false) ?? ensureOwnFolder(dir, uid, true);
  return problem ? { dir: null, problem } : { dir, problem: null };
}

/**
 * The per-user RAM folder a process with this environment and uid uses (openRuntimeDir's folders sit in it), or null
 * when it has none: also how `avscene reload --wait` finds a daemon's record from the daemon's own environment.
 */
export function runtimeBase(env: NodeJS.ProcessEnv, uid: number): string | null {
  const candidates = [
    env.RUNTIME_DIRECTORY?.split(':')[0],
    env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'avscene') : undefined,
    `/dev/shm/avscene-${uid}`,
  ];
  return candidates.find((base) => base && onRam(path.dirname(base))) ?? null;
}

function onRam(dir: string): boolean {
  try {
    const type = statfsSync(dir).type;
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Creates `dir` (mode 0700) unless it exists, then checks it without following a link: a directory of this user,
 * writable by nobody else (`exact`: mode 0700). Returns what is wrong, or null.
 */
function ensureOwnFolder(dir: string, uid: number, exact: boolean): string | null {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      return `${dir}: cannot create it (${(err as NodeJS.ErrnoException).code})`;
  }
  const st = lstatSync(dir);
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  if (st.isSymbolicLink()) return `${dir} is a symbolic link (links are not followed)`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to this user (uid ${uid})`;
  if (exact ? (st.mode & 0o777) !== 0o700 : (st.mode & 0o022) !== 0)
    return `${dir} has mode ${mode}${exact ? ', not 0700' : ': others may write in it'}`;
  return null;
}

/** A record of non-negative integers at a fixed offset: each write is a single pwrite(2) into RAM. */
export class RuntimeFile {
  private readonly fd: number;
  private readonly buffer: Buffer;

  /** The values a previous process of this boot left, or null (none, or not a record). */
  readonly previousValues: number[] | null;

  /** Opens (or creates) `file` without following a link; throws when it is not a regular file of this user. */
  constructor(
    readonly file: string,
    private readonly fields = 1,
  ) {
    this.buffer = Buffer.alloc(FIELD * fields);
    this.fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      const st = fstatSync(this.fd);
      if (!st.isFile() || st.uid !== os.userInfo().uid) throw new Error(`${file} is not a file of this user`);
      const read = Buffer.alloc(Math.min(st.size, 4096));
      const length = readSync(this.fd, read, 0, read.length, 0);
      this.previousValues = parseRecord(read.toString('latin1', 0, length));
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /** The first value a previous process left, or null. */
  get previous(): number | null {
    return this.previousValues?.[0] ?? null;
  }

  write(...values: number[]): void {
    const text = values.map((v) => String(v).padStart(FIELD - 1, ' ')).join(' ');
    this.buffer.fill(' ');
    this.buffer.write(text, 0, 'latin1');
    this.buffer.write('\n', this.buffer.length - 1, 'latin1');
    writeSync(this.fd, this.buffer, 0, FIELD * this.fields, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Whitespace-separated non-negative integers on one line (a record of an older version holds fewer fields). */
function parseRecord(text: string): number[] | null {
  if (!text.endsWith('\n') || text.length % FIELD !== 0) return null;
  const values = text.trim().split(/\s+/).map(Number);
  return values.length > 0 && values.every((v) => Number.isSafeInteger(v) && v >= 0) ? values : null;
}
