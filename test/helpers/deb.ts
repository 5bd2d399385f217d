/**
 * The .deb of `make package` (deploy/package.sh), built once per tree and shared by every test that needs it (the
 * package test, the systemd sandbox tests, the Mender tests): building takes ~1 minute on a 2-core machine.
 *
 * The cache (~/.cache/avscene/deb/<key>/, or $AVSCENE_DEB_CACHE) is keyed by what goes into the package: the content
 * of every tracked or new file under src/, deploy/, systemd/, models/bundles/ and the build files, the compiled OpenCV
 * binding (size and time) and the Node.js version. Any change there builds a new package; the six newest stay
 * (checkouts on one machine share the cache).
 *
 *   const deb = builtDeb();   // absolute path of avscene_<version>_<arch>.deb, read-only for the caller
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

const CACHE = process.env.AVSCENE_DEB_CACHE ?? path.join(os.homedir(), '.cache', 'avscene', 'deb');
const KEEP = 6;
/** What the package is built from (dist/ is compiled from src/ and tsconfig.json; test/run.mjs rebuilds it when stale). */
const INPUTS = [
  'src',
  'deploy',
  'systemd',
  'models/bundles',
  'models/BUNDLE.md',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'README.md',
];
const BINDING = 'node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node';

/** The cache key of the current tree. */
export function packageKey(): string {
  const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard', '--', ...INPUTS], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
    .split('\0')
    .filter(Boolean)
    .sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const full = path.join(REPO_ROOT, file);
    if (!existsSync(full)) continue; // deleted but not yet committed
    hash.update(`${file}\0`);
    hash.update(readFileSync(full));
  }
  const binding = path.join(REPO_ROOT, BINDING);
  if (existsSync(binding)) {
    const s = statSync(binding);
    hash.update(`binding\0${s.size}\0${s.mtimeMs}`);
  }
  hash.update(`node\0${process.version}\0${process.arch}`);
  return hash.digest('hex').slice(0, 16);
}

let memo: string | undefined;

/** The package for this tree: from the cache, or built now (throws with package.sh's output when the build fails). */
export function builtDeb(): string {
  if (memo && existsSync(memo)) return memo;
  const key = packageKey();
  const dir = path.join(CACHE, key);
  const found = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.deb')) : undefined;
  if (found) {
    memo = path.join(dir, found);
    return memo;
  }
  mkdirSync(CACHE, { recursive: true });
  // Built beside the cache entry and renamed into place: a concurrent run (another checkout) never sees half a package.
  const staging = `${dir}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const t0 = Date.now();
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'deploy', 'package.sh'), '--out', staging], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`deploy/package.sh failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`);
  }
  const built = r.stdout.trim().split('\n').at(-1)!;
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run put the same key in place first
  }
  memo = path.join(dir, path.basename(built));
  console.log(
    `# built ${path.basename(memo)}: ${(statSync(memo).size / 2 ** 20).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s (cached as ${key})`,
  );
  prune();
  return memo;
}

/** Keeps the KEEP newest cache entries. */
function prune(): void {
  const entries = readdirSync(CACHE)
    .filter((name) => !name.includes('.building-'))
    .map((name) => ({ name, at: statSync(path.join(CACHE, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of entries.slice(KEEP)) rmSync(path.join(CACHE, old.name), { recursive: true, force: true });
}
