#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with node:test + tsx, one file at a time (2-core CI machines), TAP output:
// the run ends with node's summary (`# pass N`, `# fail N`). Pass file paths or name filters to run a subset.
//
//   node test/run.mjs [--coverage] [FILTER…]
//
// - Builds dist/ first when it is older than src/ (CLI tests run the built `avscene`, as users do).
// - CI=true: a skipped test fails the run unless its reason is on the allow-list of test/skip-policy.mjs.
// - --coverage: node's built-in coverage of the code the test processes load, then branch coverage per src/ folder.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT as root, staleBuild } from './build-state.mjs';
import { IN_CI, ciSkipFailure } from './skip-policy.mjs';
import { coverageByFolder } from './coverage-table.mjs';

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'bench' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

const args = process.argv.slice(2);
const coverage = args.includes('--coverage');
const filters = args.filter((a) => a !== '--coverage');
const files = findTests(path.join(root, 'test'))
  .sort()
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const stale = staleBuild();
if (stale !== null) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    console.error(`test/run.mjs: dist/ is out of date (${stale}) and TypeScript is not installed: run make setup-test`);
    process.exit(1);
  }
  console.error(`test/run.mjs: building dist/ first (${stale})`);
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  chmodSync(path.join(root, 'dist', 'cli', 'main.js'), 0o755);
}

const env = {
  ...process.env,
  OPENCV4NODEJS_DISABLE_AUTOBUILD: '1',
  OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING: '1',
  AVSCENE_LOG_FORMAT: process.env.AVSCENE_LOG_FORMAT ?? 'json',
};
const work = mkdtempSync(path.join(os.tmpdir(), 'avscene-run-'));
const reportFile = path.join(work, 'report.jsonl');
const reporters = [
  '--test-reporter',
  path.join(root, 'test', 'ci-reporter.mjs'),
  '--test-reporter-destination',
  'stdout',
  '--test-reporter',
  path.join(root, 'test', 'run-report.mjs'),
  '--test-reporter-destination',
  reportFile,
  ...(coverage ? ['--experimental-test-coverage'] : []),
];
const result = spawnSync(
  process.execPath,
  // A hung test file fails after 20 minutes instead of stalling CI (node applies --test-timeout to each file's process
  // as a whole: 5 minutes cut off daemon.test.ts beside 8 CPU-bound processes), and a leftover handle cannot keep a
  // file's process alive. (Coverage is collected after the run, which --test-force-exit would cut short.)
  [
    '--import',
    'tsx',
    '--test',
    ...reporters,
    '--test-concurrency=1',
    '--test-timeout=1200000',
    ...(coverage ? [] : ['--test-force-exit']),
    ...files,
  ],
  { cwd: root, env, stdio: 'inherit' },
);

let status = result.status ?? 1;
const report = existsSync(reportFile)
  ? readFileSync(reportFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : null;
const skips = report?.filter((r) => r.skip).map((r) => r.skip);
if (skips === undefined) {
  console.error('test/run.mjs: the skip report was not written; the run cannot be trusted');
  status ||= 1;
} else if (IN_CI && skips.some((s) => ciSkipFailure(s.reason) !== null)) {
  status ||= 1; // the TAP output above lists each one as `not ok … skipped in CI`
}
const summary = report?.find((r) => r.coverage)?.coverage;
if (coverage) console.log(summary ? coverageByFolder(summary, root) : '# no coverage report was produced');
rmSync(work, { recursive: true, force: true });
process.exit(status);
