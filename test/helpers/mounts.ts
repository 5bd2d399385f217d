/**
 * Real file systems for storage-fault tests (root only, as in CI): a tiny tmpfs that fills up, and a read-only bind
 * mount. Each is unmounted when the test process exits.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const mounted: string[] = [];
process.once('exit', () => {
  for (const dir of mounted.reverse()) {
    try {
      execFileSync('umount', ['-l', dir]);
    } catch {}
  }
});

export const IS_ROOT = process.getuid?.() === 0;

function mount(args: string[], dir: string): string {
  execFileSync('mount', [...args, dir]);
  mounted.push(dir);
  return dir;
}

/** A tmpfs of `kib` KiB: a card that fills up. */
export function tinyTmpfs(kib: number): string {
  return mount(
    ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'tmpfs'],
    mkdtempSync(path.join(os.tmpdir(), 'avscene-full-')),
  );
}

/** `dir` seen through a read-only bind mount (what a card remounted read-only after an I/O error looks like). */
export function readOnlyView(dir: string): string {
  const view = mount(['--bind', dir], mkdtempSync(path.join(os.tmpdir(), 'avscene-ro-')));
  execFileSync('mount', ['-o', 'remount,ro,bind', view]);
  return view;
}

/** Fills the file system of `dir` up to its last byte. */
export function fill(dir: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'ballast')}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {} // dd ends with ENOSPC: that is the point
}
