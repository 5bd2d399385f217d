#!/usr/bin/env node
// Leaves in APP/node_modules only what the app runs (deploy/stage-app.sh calls it after `npm prune --omit=dev`):
//
//   node deploy/prune-runtime.mjs APP
//
// 1. Packages: npm keeps every `dependencies` entry, also those a package needs only to be built or installed. Walked
//    from the app's own dependencies, without the edges in BUILD_ONLY, whatever is not reached goes: node-gyp and its
//    tree (cacache, make-fetch-happen, tar …: ≈15 MB, pulled in by @u4/opencv4nodejs), C++ headers (nan), and
//    onnxruntime-node's download helpers (its install script fetches GPU builds; the package ships the binaries).
// 2. Files: documentation, tests, examples, TypeScript sources and declarations, source maps, C/C++ sources and build
//    files of native modules, lint and editor configuration. Licence files stay (usr/share/doc/avscene/copyright
//    lists them), and so does everything a module's `main`/`exports` or `files` names.
// Prints the size before and after.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { installedPackages } from './node-packages.mjs';

const arg = process.argv[2];
if (!arg || !existsSync(path.join(arg, 'package.json'))) {
  console.error('usage: node deploy/prune-runtime.mjs APP (a folder with package.json and node_modules)');
  process.exit(64);
}
const app = path.resolve(arg);
const modules = path.join(app, 'node_modules');

/** package → dependencies it needs only to build or install itself (never required at run time). */
const BUILD_ONLY = {
  '@u4/opencv4nodejs': ['node-gyp', 'nan'],
  'onnxruntime-node': ['adm-zip', 'global-agent'],
  'unix-dgram': ['nan'],
};

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Node's lookup: node_modules/NAME beside `from`, then in each parent up to the app. */
function resolve(name, from) {
  for (let dir = from; dir.startsWith(app); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === app) break;
  }
  return null;
}

const keep = new Set();
function visit(dir) {
  if (keep.has(dir)) return;
  keep.add(dir);
  const pkg = readJson(path.join(dir, 'package.json'));
  const skip = new Set(dir === app ? [] : (BUILD_ONLY[pkg.name] ?? []));
  const deps = { ...pkg.dependencies, ...pkg.optionalDependencies, ...(dir === app ? {} : pkg.peerDependencies) };
  for (const name of Object.keys(deps)) {
    if (skip.has(name)) continue;
    const found = resolve(name, dir);
    if (found) visit(found);
  }
}
visit(app);

function du(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) bytes += du(full);
    else if (entry.isFile()) bytes += statSync(full).size;
  }
  return bytes;
}
const before = du(modules);

let removedPackages = 0;
for (const dir of installedPackages(modules)) {
  if (keep.has(dir) || !existsSync(dir)) continue;
  rmSync(dir, { recursive: true, force: true });
  removedPackages++;
}

// Files no module reads at run time, below a package's root: folders of tests, examples, docs and benchmarks always;
// folders of sources and native build files unless they hold JavaScript, JSON or a library (a `main` may live in src/).
const DROP_DIRS = new Set([
  'test', 'tests', '__tests__', 'spec', 'example', 'examples', 'doc', 'docs', 'benchmark', 'benchmarks', 'bench',
  '.github', 'coverage',
]);
const DROP_UNLESS_CODE = new Set(['src', 'obj.target', '.deps', 'deps', 'cc', 'cpp', 'include', 'binding-src']);
const DROP_FILE = [
  /\.(md|markdown|map|ts|mts|cts|tsbuildinfo|c|cc|cpp|cxx|h|hh|hpp|gyp|gypi|mk|o|a|html)$/i,
  /^(\.eslintrc.*|eslint\.config\..*|test\.js|\.eslintignore|\.npmignore|\.gitignore|\.gitattributes|\.prettierrc.*|\.editorconfig|\.travis\.yml|\.nycrc.*|\.jshintrc|\.taprc|tsconfig.*\.json|Makefile|CHANGELOG.*|HISTORY.*|AUTHORS.*|CONTRIBUTING.*|binding\.gyp)$/i,
];
/** Kept whatever its name: licences, and type declarations are dropped only as .d.ts (no .js is named .ts). */
const KEEP_FILE = /^(LICEN[CS]E|COPYING|NOTICE)/i;
let removedFiles = 0;
function clean(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue; // its packages are cleaned as packages
      const drop = DROP_DIRS.has(entry.name) || (DROP_UNLESS_CODE.has(entry.name) && !containsRuntime(full));
      if (drop) {
        rmSync(full, { recursive: true, force: true });
        removedFiles++;
      } else clean(full);
    } else if (!KEEP_FILE.test(entry.name) && DROP_FILE.some((re) => re.test(entry.name))) {
      rmSync(full);
      removedFiles++;
    }
  }
}
/** A folder that holds JavaScript, JSON or a native library may be code (e.g. a package whose `main` is src/index.js). */
function containsRuntime(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() ? containsRuntime(full) : /\.(c?js|mjs|json|node|so(\.\d+)*|wasm)$/.test(entry.name))
      return true;
  }
  return false;
}
for (const dir of keep) if (dir !== app) clean(dir);

const after = du(modules);
const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(
  `prune-runtime: node_modules ${mib(before)} MiB -> ${mib(after)} MiB (${removedPackages} build-only packages, ${removedFiles} files or folders of docs, tests, sources and maps removed)`,
);
