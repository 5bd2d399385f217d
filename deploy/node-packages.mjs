// The npm packages installed under a node_modules folder: node_modules/X and node_modules/@scope/X, with the
// node_modules nested in each, recursively (for deploy/prune-runtime.mjs and deploy/copyright.mjs).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Absolute folders of every package (a folder with a package.json) under `dir`. */
export function installedPackages(dir) {
  const found = [];
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('@')) found.push(...installedPackages(full));
    else if (existsSync(path.join(full, 'package.json')))
      found.push(full, ...installedPackages(path.join(full, 'node_modules')));
  }
  return found;
}
