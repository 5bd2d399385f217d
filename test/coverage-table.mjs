// Branch (and line) coverage per folder from node's --experimental-test-coverage summary, as TAP comments: the
// figures the README's testing section quotes. src/ rows are code the test processes load; dist/ rows are the built
// CLI run as child processes (NODE_V8_COVERAGE is inherited), counted apart because they are the same code twice.
import path from 'node:path';

/** Files whose figures the README also quotes one by one (issue 17's baseline). */
const FILES = [
  'src/inference/bundle.ts',
  'src/publish/mqtt-publisher.ts',
  'src/capture/video-live.ts',
  'src/offline/evaluate.ts',
  'src/inference/session-lane.ts',
];

const pct = (covered, total) => (total === 0 ? '    -  ' : `${((100 * covered) / total).toFixed(1).padStart(6)}%`);

export function coverageByFolder(summary, root) {
  const folders = new Map();
  const files = new Map();
  for (const file of summary.files) {
    const rel = path.relative(root, file.path).split(path.sep);
    if ((rel[0] !== 'src' && rel[0] !== 'dist') || rel.length < 3) continue;
    const folder = `${rel[0]}/${rel[1]}`;
    const f = folders.get(folder) ?? { branches: 0, coveredBranches: 0, lines: 0, coveredLines: 0 };
    f.branches += file.totalBranchCount;
    f.coveredBranches += file.coveredBranchCount;
    f.lines += file.totalLineCount;
    f.coveredLines += file.coveredLineCount;
    folders.set(folder, f);
    files.set(rel.join('/'), file);
  }
  const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b));
  return [
    `# ${'coverage per folder'.padEnd(28)} branches    lines`,
    ...rows.map(
      ([folder, f]) => `# ${folder.padEnd(28)} ${pct(f.coveredBranches, f.branches)}  ${pct(f.coveredLines, f.lines)}`,
    ),
    ...FILES.filter((f) => files.has(f)).map((f) => {
      const c = files.get(f);
      return `# ${f.padEnd(28)} ${pct(c.coveredBranchCount, c.totalBranchCount)}  ${pct(c.coveredLineCount, c.totalLineCount)}`;
    }),
  ].join('\n');
}
