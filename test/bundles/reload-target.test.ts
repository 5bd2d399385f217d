/**
 * `avscene reload` without --pid and no avscene service: with one daemon of this installation it signals that one;
 * with several (another user's test daemon, a second configuration) it signals none and lists them, so the user picks.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { killAll, runCli, sets, startCli, stopWithin5s, type RunningCli } from '../helpers/cli.js';

after(killAll);

const daemon = (device: string): RunningCli =>
  startCli(['run', ...sets(`device.id=${device}`, 'audio.loop=true', 'mqtt.embeddedPort=0', 'http.listen=')]);

const running = (cli: RunningCli) => cli.untilLog((l) => l.msg === 'avscene running', 60_000, 'the daemon running');

test('several daemons: reload signals none and lists them; --pid picks one', async () => {
  const a = daemon('reload-a');
  const b = daemon('reload-b');
  await Promise.all([running(a), running(b)]);
  const r = runCli(['reload'], {}, 30_000);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /avscene daemons run and no avscene service is active; say which one to reload with --pid PID/,
  );
  for (const cli of [a, b]) assert.match(r.stderr, new RegExp(`\\b${cli.child.pid} \\(uid \\d+\\): avscene run `));
  assert.ok(!a.logs().some((l) => /^reload/.test(String(l.msg))), 'no daemon was signalled');

  const picked = runCli(['reload', '--pid', String(a.child.pid)], {}, 30_000);
  assert.equal(picked.status, 0, picked.stderr);
  await a.untilLog((l) => /^reload/.test(String(l.msg)), 30_000, 'the picked daemon reloading');
  assert.ok(!b.logs().some((l) => /^reload/.test(String(l.msg))), 'the other one was left alone');
  await Promise.all([stopWithin5s(a), stopWithin5s(b)]);
});
