/**
 * Syslog priorities for journald: the CLI's log lines (and its final error) start with `<N>` only when stdout/stderr is
 * the stream $JOURNAL_STREAM names (device:inode), as under systemd; elsewhere the output is plain JSON. The real
 * journal reading them is checked under systemd in test/systemd/service.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { openSync, readFileSync, statSync, closeSync } from 'node:fs';
import path from 'node:path';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/media.js';

/** Runs the CLI with stdout and stderr going to files; `journal`: JOURNAL_STREAM names the one given. */
function run(args: string[], journal: 'stdout' | 'stderr' | 'none') {
  const dir = tempDir('avscene-journal-');
  const out = path.join(dir, 'out');
  const err = path.join(dir, 'err');
  const [o, e] = [openSync(out, 'w'), openSync(err, 'w')];
  const st = statSync(journal === 'stderr' ? err : out);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, AVSCENE_LOG_FORMAT: 'json' };
  if (journal !== 'none') env.JOURNAL_STREAM = `${st.dev}:${st.ino}`;
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', o, e],
    timeout: 60_000,
  });
  closeSync(o);
  closeSync(e);
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

// The embedded default for 2 s of the demo clip: info lines, and a warning for the missing video (none here: audio).
const ARGS = ['run', '--set', 'audio.loop=false', '--set', 'http.listen=', '--set', 'log.level=debug'];

test('on the journal stream every JSON line carries its priority: <7> debug, <6> info', () => {
  const r = run(ARGS, 'stdout');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const line of lines) {
    const m = /^<(\d)>(\{.*\})$/.exec(line);
    assert.ok(m, `a prefixed JSON line: ${line.slice(0, 80)}`);
    const level = (JSON.parse(m[2]!) as { level: number }).level;
    assert.equal(Number(m[1]), { 20: 7, 30: 6, 40: 4, 50: 3 }[level], line.slice(0, 80));
  }
  assert.ok(lines.some((l) => l.startsWith('<6>')) && lines.some((l) => l.startsWith('<7>')));
});

test('elsewhere (a file, a pipe, a terminal) the lines are plain JSON; a fatal error is <3> on a journal stderr', () => {
  const plain = run(ARGS, 'none');
  assert.equal(plain.status, 0, plain.stderr);
  assert.ok(
    plain.stdout
      .trim()
      .split('\n')
      .every((l) => l.startsWith('{"level":')),
  );
  const failed = run(['run', '--set', 'model.bundle=/nonexistent'], 'stderr');
  assert.equal(failed.status, 78);
  assert.match(failed.stderr, /^<3>avscene: /);
  assert.ok(
    failed.stderr
      .trim()
      .split('\n')
      .every((l) => l.startsWith('<3>')),
    failed.stderr,
  );
});
