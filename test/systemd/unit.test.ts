/**
 * The shipped unit, as systemd itself reads it: `systemd-analyze verify` finds nothing wrong and
 * `systemd-analyze security --offline=true` rates its exposure at most 2.0 while it stays a watchdog-supervised
 * Type=notify service that does not restart on exit 78.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

const UNIT = path.join(REPO_ROOT, 'systemd', 'avscene.service');

function analyze(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
  if (r.error)
    throw new Error(`systemd-analyze not found (apt-get install systemd; make test does it): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** [Service] settings as key → values (a key may repeat). */
function settings(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(UNIT, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
  }
  return map;
}

test('systemd-analyze verify accepts the unit', () => {
  const { status, out } = analyze(['verify', UNIT]);
  assert.equal(status, 0, out);
  assert.equal(out.trim(), '', `verify printed warnings:\n${out}`);
});

test('systemd-analyze security rates the unit at most 2.0', () => {
  const { status, out } = analyze(['security', '--offline=true', '--no-pager', UNIT]);
  assert.equal(status, 0, out);
  const m = /Overall exposure level for avscene\.service: (\d+\.\d)/.exec(out);
  assert.ok(m, out);
  // Only what costs exposure, one short line each (node's TAP reporter chokes on the padded table).
  const costs = out
    .split('\n')
    .filter((line) => line.includes('✗'))
    .map((line) => line.replace(/\s+/g, ' ').trim());
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} > 2.0:\n${costs.join('\n')}`);
});

test('the unit is Type=notify with a watchdog, no capabilities, and does not restart on exit 78', () => {
  const s = settings();
  const one = (key: string) => s.get(key)?.at(-1);
  assert.equal(one('Type'), 'notify');
  assert.equal(one('NotifyAccess'), 'main', 'only the daemon itself may notify');
  assert.match(one('WatchdogSec') ?? '', /^\d+s$/);
  assert.equal(one('RestartPreventExitStatus'), '78');
  assert.equal(one('CapabilityBoundingSet'), '');
  assert.deepEqual(s.get('DeviceAllow'), ['char-alsa rw', 'char-video4linux rw']);
  assert.equal(one('ReadWritePaths'), '/var/lib/avscene');
  assert.notEqual(one('MemoryDenyWriteExecute'), 'true', "V8's JIT needs writable+executable memory");
});
