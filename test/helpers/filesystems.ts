/**
 * Real file systems for storage-fault tests (root only, as in CI): a tiny tmpfs that fills up, and a loop-mounted ext4
 * image that can be remounted read-only under a running daemon. Each is unmounted and removed when the test process
 * exits (and by unmount()).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const IS_ROOT = process.getuid?.() === 0;
/** For `test(..., { skip })`: the reason these tests cannot run here. */
export const NEEDS_ROOT = IS_ROOT ? false : 'mounts a tmpfs and a loop ext4: run as root (CI does)';

export interface Mounted {
  dir: string;
  /** Fills the file system to the last byte (a file named `filler`). */
  fill(): void;
  /** Frees what fill() took. */
  free(): void;
  remount(mode: 'ro' | 'rw'): void;
  unmount(): void;
}

export interface Ext4 extends Mounted {
  /** An I/O error as ext4 sees one: with errors=remount-ro the kernel makes the file system read-only at once. */
  forceError(): void;
  /** As a reboot with fsck does: unmount, e2fsck -fy, mount again (read-write). */
  remountAfterFsck(): void;
}

const mounted = new Set<Mounted>();
process.on('exit', () => {
  for (const m of mounted) m.unmount();
});

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

function track(dir: string, cleanup: () => void): Mounted {
  const filler = path.join(dir, 'filler');
  const m: Mounted = {
    dir,
    fill() {
      // dd stops with ENOSPC once the file system is full: that is the point.
      try {
        run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k']);
      } catch {}
      try {
        run('sync', ['-f', dir]);
      } catch {}
    },
    free() {
      rmSync(filler, { force: true });
    },
    remount(mode) {
      run('mount', ['-o', `remount,${mode}`, dir]);
    },
    unmount() {
      if (!mounted.delete(m)) return;
      try {
        run('umount', ['-l', dir]);
      } catch {}
      cleanup();
    },
  };
  mounted.add(m);
  return m;
}

/** A tmpfs of `sizeKiB`, mounted on a fresh folder. */
export function tinyTmpfs(sizeKiB: number): Mounted {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'avscene-tmpfs-'));
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
  return track(dir, () => rmSync(dir, { recursive: true, force: true }));
}

/** An ext4 image of `sizeMiB` on a loop device, mounted (errors=remount-ro, as on a board) on a fresh folder. */
export function loopExt4(sizeMiB: number): Ext4 {
  const base = mkdtempSync(path.join(os.tmpdir(), 'avscene-ext4-'));
  const image = path.join(base, 'card.img');
  const dir = path.join(base, 'mnt');
  writeFileSync(image, '');
  run('truncate', ['-s', `${sizeMiB}M`, image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  run('mkdir', [dir]);
  const mount = () => run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  mount();
  const m = track(dir, () => rmSync(base, { recursive: true, force: true }));
  return Object.assign(m, {
    forceError() {
      const device = path.basename(execFileSync('findmnt', ['-no', 'SOURCE', dir], { encoding: 'utf8' }).trim());
      writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, 'avscene test: forced error\n');
    },
    remountAfterFsck() {
      run('umount', [dir]);
      try {
        run('e2fsck', ['-fy', image]);
      } catch {} // exit 1: errors corrected
      mount();
    },
  });
}
