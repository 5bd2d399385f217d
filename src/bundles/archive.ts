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
/** A bundle lists a handful of files; a table of contents larger than this is not one. */
const LISTING_MAX_BYTES = 4 << 20;

function gzipFlag(archive: string): string[] {
  return archive.endsWith('.tar') ? [] : ['-z'];
}

function unpackError(archive: string, err: unknown): BundleStoreError {
  const e = err as Error & { stderr?: string; code?: string };
  if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
    return new BundleStoreError(`${archive} holds far too many entries to be a bundle archive`);
  const detail = (e.stderr || e.message).trim().split('\n').slice(-2).join(' ');
  return new BundleStoreError(
    `cannot unpack ${archive} (${detail}): is it a complete tar.gz of a bundle? Download it again`,
  );
}

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

/**
 * Reads the archive's table of contents (nothing is written) and refuses one that would unpack to more than `maxBytes`,
 * or that holds anything but files and folders (links could point outside the bundle, devices have no place in one).
 */
export async function checkArchive(archive: string, maxBytes: number): Promise<void> {
  let listing: string;
  try {
    listing = (
      await run('tar', ['-t', '-v', ...gzipFlag(archive), '-f', path.resolve(archive)], {
        maxBuffer: LISTING_MAX_BYTES,
      })
    ).stdout;
  } catch (err) {
    throw unpackError(archive, err);
  }
  let total = 0;
  for (const line of listing.split('\n')) {
    if (line === '') continue;
    const m = /^([-dlhcbps])\S*\s+\S+\s+(\d+)\s/.exec(line);
    if (!m || (m[1] !== '-' && m[1] !== 'd'))
      throw new BundleStoreError(
        `${archive} holds something that is neither a file nor a folder (${line.trim()}): a bundle archive holds only bundle.json, bundle.sig and ONNX files`,
      );
    total += Number(m[2]);
  }
  if (total > maxBytes) throw tooLarge(archive, total, maxBytes);
}

/** The error for a bundle larger than the store takes. */
export function tooLarge(what: string, bytes: number, maxBytes: number): BundleStoreError {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return new BundleStoreError(
    `${what} unpacks to ${mib(bytes)}, more than the ${mib(maxBytes)} a bundle may take (model.maxBundleMB); nothing was written. Raise model.maxBundleMB if the bundle is genuine`,
  );
}

/** Unpacks `archive` into `dest` and returns the directory in it that holds bundle.json (the top level or its only folder). */
export async function extractArchive(archive: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  try {
    await run(
      'tar',
      ['-x', ...gzipFlag(archive), '-f', path.resolve(archive), '-C', dest, '--no-same-owner', '--no-same-permissions'],
      { maxBuffer: 1 << 20 },
    );
  } catch (err) {
    throw unpackError(archive, err);
  }
  if (existsSync(path.join(dest, MANIFEST_FILE))) return dest;
  const entries = (await readdir(dest, { withFileTypes: true })).filter((e) => e.isDirectory());
  if (entries.length === 1 && existsSync(path.join(dest, entries[0]!.name, MANIFEST_FILE)))
    return path.join(dest, entries[0]!.name);
  throw new BundleStoreError(
    `${archive} holds no ${MANIFEST_FILE} at its top level or in its only folder: pack a bundle with \`tar czf NAME.tar.gz -C PARENT BUNDLE_DIR\``,
  );
}
