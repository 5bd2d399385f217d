/** BENCHMARKS.md stays tied to what was measured: every section names its commit, and the feature benchmark refuses to
 *  time synthetic input in place of the real recording its section describes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

test('every section of BENCHMARKS.md names the commit it was measured on, and that commit exists', () => {
  const text = readFileSync(path.join(REPO_ROOT, 'BENCHMARKS.md'), 'utf8');
  const sections = text.split(/^(?=#{2,3} )/m).filter((s) => /^#{2,3} /.test(s));
  assert.ok(sections.length >= 5, `found ${sections.length} sections`);
  const shallow =
    spawnSync('git', ['rev-parse', '--is-shallow-repository'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() ===
    'true';
  for (const section of sections) {
    const title = section.split('\n')[0]!;
    const commits = [...section.matchAll(/\bcommits? `?([0-9a-f]{7,40})\b/gi)].map((m) => m[1]!);
    assert.ok(commits.length > 0, `"${title}" names the commit it was measured on ("commit abc1234")`);
    if (shallow) continue; // a shallow CI clone lacks the history to look them up
    for (const commit of commits) {
      // An ancestor of HEAD, not just an object in this clone: a commit from a branch that was rebased before it
      // landed exists in the author's clone but in no clone of the repository.
      const r = spawnSync('git', ['merge-base', '--is-ancestor', commit, 'HEAD'], { cwd: REPO_ROOT });
      assert.equal(r.status, 0, `"${title}": commit ${commit} is in the history of HEAD`);
    }
  }
});

test('the feature benchmark stops when the real recording is missing, and says how to proceed', () => {
  const missing = path.join(REPO_ROOT, 'no-such-shared-data');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'test/bench/features.bench.ts', '--windows', '1', '--reps', '1'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, AVSCENE_SHARED_DATA: missing },
    },
  );
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`not at ${missing}`), r.stderr);
  assert.match(r.stderr, /AVSCENE_SHARED_DATA .* --synthetic/);
  assert.ok(!/ms per 1-s stereo window/.test(r.stdout), 'no figures were printed');
});
