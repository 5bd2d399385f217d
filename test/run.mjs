#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with node:test + tsx, one file at a time (2-core CI machines), TAP output:
// the run ends with node's summary (`# pass N`, `# fail N`). Pass file paths or name filters to run a subset.
//
//   node test/run.mjs [--coverage] [FILTER…]
//
// - Builds dist/ first when it is older than src/ (CLI tests run the built `avscene`, as users do).
// - CI=true: a skipped test fails the run unless its reason is on the allow-list of test/skip-policy.mjs.
// - --coverage: raw V8 coverage of every process the suite starts (NODE_V8_COVERAGE, coverage/v8/), then branch and line
//   coverage per src/ folder (test/coverage.mjs, c8); the whole suite also checks test/coverage-thresholds.mjs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT as root, staleBuild } from './build-state.mjs';
import { IN_CI, ciSkipFailure } from './skip-policy.mjs';
import { belowThresholds, c8Summary, formatTable, keepProjectCoverage } from './coverage.mjs';

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
// Every process inherits it (test files, the CLI they run, the daemon's video process, worker threads) and writes its
// coverage there on exit.
const rawCoverage = path.join(root, 'coverage', 'v8');
if (coverage) {
  rmSync(path.join(root, 'coverage'), { recursive: true, force: true });
  mkdirSync(rawCoverage, { recursive: true });
  env.NODE_V8_COVERAGE = rawCoverage;
}
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
];
const result = spawnSync(
  process.execPath,
  // A hung test file fails after 20 minutes instead of stalling CI (node applies --test-timeout to each file's process
  // as a whole: 5 minutes cut off daemon.test.ts beside 8 CPU-bound processes), and a leftover handle cannot keep a
  // file's process alive (its coverage is still written: process.exit writes it).
  [
    '--import',
    'tsx',
    ...(coverage ? ['--import', path.join(root, 'test', 'coverage-hooks.mjs')] : []),
    '--test',
    ...reporters,
    '--test-concurrency=1',
    '--test-timeout=1200000',
    '--test-force-exit',
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
if (coverage) {
  console.log(
    `# coverage: ${keepProjectCoverage(rawCoverage, root)} processes wrote coverage; HTML report in coverage/report/`,
  );
  const files = c8Summary(rawCoverage, root);
  console.log(formatTable(files, root, filters.length === 0));
  // A subset of the test files covers a subset of the code: only the whole suite is held to the thresholds.
  const below = filters.length === 0 ? belowThresholds(files) : [];
  for (const line of below) console.error(`test/run.mjs: coverage below threshold: ${line}`);
  if (below.length > 0) status ||= 1;
}
rmSync(work, { recursive: true, force: true });
process.exit(status);
