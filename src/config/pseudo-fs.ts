/**
 * Whether a path would land on a kernel pseudo file system (/proc, /sys, cgroups, …), asked of the deepest part of it
 * that exists, before anything is created: Node's recursive mkdir loops forever under /proc (mkdir gets ENOENT there
 * for a parent that exists), at 100 % CPU and deaf to SIGTERM.
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';

/** statfs(2) f_type of the file systems that hold no user files (linux/magic.h). */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
]);

/** The name of the pseudo file system `dir` (or its deepest existing ancestor) is on, or null for a real one. */
export function pseudoFileSystemOf(dir: string): string | null {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      return PSEUDO_FILE_SYSTEMS.get(statfsSync(at).type) ?? null;
    } catch {
      if (at === path.dirname(at)) return null; // nothing of it exists: mkdir will say why
    }
  }
}
