#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with node:test + tsx, one file at a time (2-core CI machines), TAP output:
// the run ends with node's summary (`# pass N`, `# fail N`). Pass file paths or name filters to run a subset.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'bench' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

const filters = process.argv.slice(2);
const files = findTests(path.join(root, 'test'))
  .sort()
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const env = {
  ...process.env,
  OPENCV4NODEJS_DISABLE_AUTOBUILD: '1',
  OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING: '1',
  AVSCENE_LOG_FORMAT: process.env.AVSCENE_LOG_FORMAT ?? 'json',
};
const result = spawnSync(
  process.execPath,
  // A hung test fails after 5 minutes instead of stalling CI, and a leftover handle cannot keep a file's process alive.
  ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', '--test-timeout=300000', '--test-force-exit', ...files],
  { cwd: root, env, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
