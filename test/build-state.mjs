// Whether dist/ (the built CLI the tests run as users do) matches src/: the same rule as deploy/setup.sh's build step.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

function newestUnder(dir) {
  let newest = { file: '', mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestUnder(full) : { file: full, mtimeMs: statSync(full).mtimeMs };
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** Why dist/ cannot be trusted (missing, or older than a source file), or null when it is up to date. */
export function staleBuild() {
  if (!existsSync(BUILT)) return `${path.relative(REPO_ROOT, BUILT)} does not exist`;
  const built = statSync(BUILT).mtimeMs;
  const newest = newestUnder(path.join(REPO_ROOT, 'src'));
  if (newest.mtimeMs > built)
    return `${path.relative(REPO_ROOT, newest.file)} is newer than ${path.relative(REPO_ROOT, BUILT)}`;
  const pkg = path.join(REPO_ROOT, 'package.json');
  if (statSync(pkg).mtimeMs > built) return `package.json is newer than ${path.relative(REPO_ROOT, BUILT)}`;
  return null;
}
