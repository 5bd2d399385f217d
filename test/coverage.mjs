// Branch and line coverage of src/ for `make coverage` (test/run.mjs --coverage), counted in every process the suite
// starts: the test files' processes (tsx), the built CLI they run (dist/cli/main.js, mapped back to src/ through tsc's
// source maps), the daemon's video process and the inference worker threads. Node writes each process's raw V8
// coverage to NODE_V8_COVERAGE when it exits; c8 (by V8's coverage authors) merges them and applies the source maps.
// Node's own --experimental-test-coverage sees only the test files' processes and crashed on the whole suite
// (Node 20: "Cannot read properties of undefined (reading 'line')").
//
//   node test/coverage.mjs [RAW_DIR]   reports again from a finished run's raw coverage (default coverage/v8)
//
// What a figure means: V8 counts a branch only in code that ran at least once (a function never called adds no
// branches), as node's built-in coverage does; a file no test process loaded is listed apart. A process killed with
// SIGKILL writes nothing (the daemon's video process is always ended so: see src/capture/video-process.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { THRESHOLDS } from './coverage-thresholds.mjs';

/** Files whose figures the README quotes one by one (issue 17's baseline). */
const FILES = Object.keys(THRESHOLDS).filter((key) => key.endsWith('.ts'));

/**
 * Keeps only the project's scripts (src/ under tsx, dist/ run by the CLI tests) in each raw coverage file: a process
 * also reports every module it loaded (onnxruntime, mqtt, Node's own), which would make the files ten times larger and
 * c8's merge slow. Returns the number of process files read.
 */
export function keepProjectCoverage(rawDir, root) {
  const prefixes = ['src', 'dist'].map((dir) => `${pathToFileURL(path.join(root, dir)).href}/`);
  const ours = (url) => prefixes.some((p) => url.startsWith(p));
  const names = readdirSync(rawDir).filter((name) => name.endsWith('.json'));
  for (const name of names) {
    const file = path.join(rawDir, name);
    let raw;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // a process that died while writing it: c8 skips it too
    }
    const maps = raw['source-map-cache'] ?? {};
    writeFileSync(
      file,
      JSON.stringify({
        result: (raw.result ?? []).filter((script) => ours(script.url)),
        'source-map-cache': Object.fromEntries(Object.entries(maps).filter(([url]) => ours(url))),
      }),
    );
  }
  return names.length;
}

/** Runs c8 over the raw coverage; returns {file (relative to root): {branches, lines}} with {total, covered} each. */
export function c8Summary(rawDir, root) {
  const reportDir = path.join(path.dirname(rawDir), 'report');
  const c8 = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules', 'c8', 'bin', 'c8.js'),
      'report',
      `--temp-directory=${rawDir}`,
      `--reports-dir=${reportDir}`,
      '--reporter=json-summary',
      '--reporter=html',
      '--include=src/**',
      '--exclude-after-remap', // dist/ scripts count once mapped back to src/
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (c8.status !== 0) throw new Error(`c8 report failed (exit ${c8.status}): ${c8.stderr}`);
  const summary = JSON.parse(readFileSync(path.join(reportDir, 'coverage-summary.json'), 'utf8'));
  return Object.fromEntries(
    Object.entries(summary)
      .filter(([file]) => file !== 'total')
      .map(([file, s]) => [path.relative(root, file), { branches: s.branches, lines: s.lines }]),
  );
}

/** src/ files with code that runs: tsc compiles a types-only file to `export {};`, and nothing ever loads it. */
function codeFiles(dir, root) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return codeFiles(full, root);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return [];
    const rel = path.relative(root, full);
    const built = path.join(root, 'dist', path.relative('src', rel).replace(/\.ts$/, '.js'));
    const code = existsSync(built)
      ? readFileSync(built, 'utf8')
          .replace(/\/\*[\s\S]*?\*\/|^export \{\};$|^\/\/.*$/gm, '')
          .trim()
      : 'unknown';
    return code === '' ? [] : [rel];
  });
}

/** Per-folder sums ("src/capture") and the files themselves, each {branches, lines} with {total, covered}. */
export function byFolder(files) {
  const folders = new Map();
  for (const [file, c] of Object.entries(files)) {
    const parts = file.split(path.sep);
    if (parts.length < 3) continue;
    const folder = parts.slice(0, 2).join('/');
    const sum = folders.get(folder) ?? { branches: { total: 0, covered: 0 }, lines: { total: 0, covered: 0 } };
    for (const kind of ['branches', 'lines']) {
      sum[kind].total += c[kind].total;
      sum[kind].covered += c[kind].covered;
    }
    folders.set(folder, sum);
  }
  return new Map([...folders.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

const percent = ({ covered, total }) => (total === 0 ? null : (100 * covered) / total);
const cell = (c) => {
  const p = percent(c);
  return p === null ? '      -' : `${p.toFixed(1).padStart(6)}%`;
};

/** The table test/run.mjs prints (TAP comments) and the README quotes; `whole`: the whole suite ran (lists what it never loaded). */
export function formatTable(files, root, whole = true) {
  const folders = byFolder(files);
  const notLoaded = whole ? codeFiles(path.join(root, 'src'), root).filter((f) => !(f in files)) : [];
  const row = (name, c) => `# ${name.padEnd(34)} ${cell(c.branches)} ${cell(c.lines)}`;
  return [
    `# ${'coverage (all processes)'.padEnd(34)} branches   lines`,
    ...[...folders.entries()].map(([folder, c]) => row(folder, c)),
    ...FILES.filter((f) => f in files).map((f) => row(f, files[f])),
    ...(notLoaded.length > 0 ? [`# loaded by no test process: ${notLoaded.join(', ')}`] : []),
  ].join('\n');
}

/** One sentence per folder or file below its branch threshold (test/coverage-thresholds.mjs); empty when all hold. */
export function belowThresholds(files) {
  const folders = byFolder(files);
  return Object.entries(THRESHOLDS).flatMap(([key, minimum]) => {
    const c = key.endsWith('.ts') ? files[key] : folders.get(key);
    if (c === undefined) return [`${key}: no test process loaded it (branch threshold ${minimum} %)`];
    const p = percent(c.branches) ?? 0;
    if (p >= minimum) return [];
    return [
      `${key}: ${p.toFixed(1)} % of branches covered (${c.branches.covered}/${c.branches.total}), below its threshold of ${minimum} % in test/coverage-thresholds.mjs: add tests for the branches it lost (open coverage/report/index.html)`,
    ];
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const rawDir = path.resolve(process.argv[2] ?? path.join(root, 'coverage', 'v8'));
  const files = c8Summary(rawDir, root);
  console.log(formatTable(files, root));
  const below = belowThresholds(files);
  for (const line of below) console.error(`coverage: ${line}`);
  process.exit(below.length > 0 ? 1 : 0);
}
