// Branch (and line) coverage per src/ folder from node's --experimental-test-coverage summary, as a TAP comment
// table: the figures the README's testing section quotes. Built JavaScript run by CLI child processes (dist/) is
// counted under the folder of its source.
import path from 'node:path';

export function coverageByFolder(summary, root) {
  const folders = new Map();
  for (const file of summary.files) {
    const rel = path.relative(root, file.path).split(path.sep);
    if ((rel[0] !== 'src' && rel[0] !== 'dist') || rel.length < 3) continue;
    const folder = `src/${rel[1]}`;
    const f = folders.get(folder) ?? { branches: 0, coveredBranches: 0, lines: 0, coveredLines: 0 };
    f.branches += file.totalBranchCount;
    f.coveredBranches += file.coveredBranchCount;
    f.lines += file.totalLineCount;
    f.coveredLines += file.coveredLineCount;
    folders.set(folder, f);
  }
  const pct = (covered, total) => (total === 0 ? '   -  ' : `${((100 * covered) / total).toFixed(1).padStart(5)}%`);
  const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b));
  return [
    '# coverage per folder  branches   lines',
    ...rows.map(([folder, f]) => `# ${folder.padEnd(20)} ${pct(f.coveredBranches, f.branches)}  ${pct(f.coveredLines, f.lines)}`),
  ].join('\n');
}
