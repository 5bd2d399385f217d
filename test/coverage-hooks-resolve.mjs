// Module resolution hook for test/coverage-hooks.mjs: src/<path>.ts resolves to dist/<path>.js when it was built.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO_ROOT } from './build-state.mjs';

const SRC = `${pathToFileURL(`${REPO_ROOT}/src`).href}/`;
const DIST = `${pathToFileURL(`${REPO_ROOT}/dist`).href}/`;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(SRC) || !resolved.url.endsWith('.ts')) return resolved;
  const built = `${DIST}${resolved.url.slice(SRC.length, -'.ts'.length)}.js`;
  return existsSync(fileURLToPath(built)) ? { ...resolved, url: built, format: 'module' } : resolved;
}
