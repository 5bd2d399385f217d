/**
 * Bundles shipped as one file: `tar czf my-bundle-1.2.0.tar.gz -C out my-bundle` (or the files at the top level).
 * Unpacked with the system's GNU tar, which refuses members that would land outside the destination (`..`, absolute
 * names); owners and permissions from the archive are not kept.
 */
import { execFile } from 'node:child_process';
import { existsSync, type Stats } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { MANIFEST_FILE } from '../inference/index.js';
import { BundleStoreError } from './store-error.js';

const run = promisify(execFile);
const ARCHIVE_SUFFIXES = ['.tar.gz', '.tgz', '.tar'];

/** True for a regular file named like a tar archive; a directory is a bundle directory. */
export async function isArchive(source: string): Promise<boolean> {
  let info: Stats;
  try {
    info = await stat(source);
  } catch {
    throw new BundleStoreError(
      `${source} not found: give a bundle directory (bundle.json + ONNX files) or a .tar.gz of one`,
    );
  }
  if (info.isDirectory()) return false;
  if (ARCHIVE_SUFFIXES.some((s) => source.endsWith(s))) return true;
  throw new BundleStoreError(
    `${source} is neither a directory nor a .tar.gz/.tgz/.tar archive: give a bundle directory or an archive of one`,
  );
}

/** Unpacks `archive` into `dest` and returns the directory in it that holds bundle.json (the top level or its only folder). */
export async function extractArchive(archive: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const gzip = archive.endsWith('.tar') ? [] : ['-z'];
  try {
    await run(
      'tar',
      ['-x', ...gzip, '-f', path.resolve(archive), '-C', dest, '--no-same-owner', '--no-same-permissions'],
      { maxBuffer: 1 << 20 },
    );
  } catch (err) {
    const detail = ((err as { stderr?: string }).stderr ?? (err as Error).message)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ');
    throw new BundleStoreError(
      `cannot unpack ${archive} (${detail}): is it a complete tar.gz of a bundle? Download it again`,
    );
  }
  if (existsSync(path.join(dest, MANIFEST_FILE))) return dest;
  const entries = (await readdir(dest, { withFileTypes: true })).filter((e) => e.isDirectory());
  if (entries.length === 1 && existsSync(path.join(dest, entries[0]!.name, MANIFEST_FILE)))
    return path.join(dest, entries[0]!.name);
  throw new BundleStoreError(
    `${archive} holds no ${MANIFEST_FILE} at its top level or in its only folder: pack a bundle with \`tar czf NAME.tar.gz -C PARENT BUNDLE_DIR\``,
  );
}
