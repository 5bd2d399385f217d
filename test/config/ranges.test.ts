/**
 * Every key in range: a table-driven walk over `avscene config --schema` that sets each key to 0, −1, a huge number,
 * NaN and "" (as a careless user would). Each value is either taken by design or refused with a ConfigError (exit 78)
 * that names the key (and, for numbers, the range); never a raw error. Numeric keys must refuse −1, huge, NaN and "",
 * and 0 exactly when their range starts above it. Then the values that used to pass, end to end through the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, sets } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

interface SchemaEntry {
  allowed: unknown;
  default: unknown;
  min?: number;
  max?: number;
  above?: number;
}

const schema = (): Record<string, SchemaEntry> => {
  const r = runCli(['config', '--schema'], {}, 30_000);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, SchemaEntry>;
};

const TRIES: Array<[string, string]> = [
  ['zero', '0'],
  ['minus one', '-1'],
  ['huge', '99999999999999999999'],
  ['NaN', 'NaN'],
  ['empty', ''],
];

/** What loading the configuration with `key` set to `value` does: "ok", or the ConfigError's message. */
function tryValue(key: string, value: string): string {
  try {
    loadConfig({ overrides: { [key]: value } });
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof ConfigError, `${key}=${JSON.stringify(value)}: not a ConfigError but ${String(err)}`);
    assert.equal(err.exitCode, 78);
    return err.message;
  }
}

test('every key: 0, −1, huge, NaN and "" are taken by design or refused with exit 78 naming the key and the range', () => {
  const keys = schema();
  assert.ok(Object.keys(keys).length > 30, 'the schema lists the keys');
  const numeric = Object.entries(keys).filter(([, e]) => e.max !== undefined);
  assert.ok(numeric.length >= 12, `numeric keys carry their range: ${numeric.map(([k]) => k).join(', ')}`);
  const refusals: string[] = [];
  for (const [key, entry] of Object.entries(keys)) {
    for (const [what, value] of TRIES) {
      const outcome = tryValue(key, value);
      if (outcome === 'ok') {
        assert.ok(
          entry.max === undefined || (what === 'zero' && (entry.min ?? 1) <= 0 && entry.above === undefined),
          `${key}=${JSON.stringify(value)} (${what}) was accepted, outside ${JSON.stringify(entry)}`,
        );
        continue;
      }
      assert.ok(outcome.includes(key), `${key}=${JSON.stringify(value)}: the error names the key:\n${outcome}`);
      if (entry.max !== undefined)
        assert.ok(outcome.includes(String(entry.max)), `${key}: the error names the range:\n${outcome}`);
      refusals.push(`${key}=${value}`);
    }
  }
  assert.ok(refusals.length > 60, `refused ${refusals.length}`);
});

test('numeric keys accept their whole range, ends included', () => {
  for (const [key, entry] of Object.entries(schema())) {
    if (entry.max === undefined) continue;
    for (const value of [entry.min ?? (entry.above ?? 0) + 1, entry.max])
      assert.equal(tryValue(key, String(value)), 'ok', `${key}=${value}`);
  }
});

test('the values that used to pass are refused by the CLI with exit 78, naming the key and what is allowed', () => {
  const dir = tempDir('avscene-ranges-');
  const cases: Array<[string[], RegExp]> = [
    [['mqtt.keepaliveS=70000'], /mqtt\.keepaliveS: must be a whole number from 1 to 65535: value was 70000/],
    [
      ['mqtt.url=mqtt://broker.local:1883', 'mqtt.protocolVersion=5', 'mqtt.windowExpiryS=99999999999'],
      /mqtt\.windowExpiryS: must be a whole number from 0 to 4294967295/,
    ],
    [['state.dir='], /state\.dir: must be an absolute directory path/],
    [['state.dir=relative/state'], /state\.dir: must be an absolute directory path/],
    [['state.dir=/proc/avs'], /state\.dir: "\/proc\/avs" lies on procfs/],
    [['state.dir=/sys/kernel/avs/x'], /state\.dir: "\/sys\/kernel\/avs\/x" lies on sysfs/],
    [['http.listen=127.0.0.1:99999'], /http\.listen: must be host:port with a port 0–65535/],
    [['inference.threads=1e20'], /inference\.threads: must be a whole number from 0 to 256: value was "1e20"/],
    [['inference.smoothing=1e23'], /inference\.smoothing: must be a whole number from 0 to 3600/],
    [['inference.queue=0'], /inference\.queue: must be a whole number from 1 to 600: value was 0/],
    [['mqtt.outbox.maxMB=0'], /mqtt\.outbox\.maxMB: must be a whole number from 1/],
    [['mqtt.url=mqtt://u:p@broker.local:notaport'], /mqtt\.url: is not a valid URL/],
    [['mqtt.url=mqtt://broker.local:0'], /mqtt\.url: has port 0/],
    [['mqtt.url=mqtt:broker.local'], /mqtt\.url: is not a broker URL/],
    [
      ['mqtt.protocolVersion=5'],
      /mqtt\.protocolVersion: "5" needs an external broker: the embedded broker .* speaks MQTT 3\.1\.1 only/,
    ],
    [['video.fps=0'], /video\.fps: must be a number > 0 and ≤ 1000: value was 0/],
  ];
  for (const [settings, expected] of cases) {
    const r = runCli(['config', '--print', ...sets(...settings)], { AVSCENE_STATE_DIR: path.join(dir, 's') }, 30_000);
    assert.equal(r.status, 78, `${settings.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected, settings.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // `run` refuses a pseudo file system before any mkdir (Node's recursive mkdir loops forever in /proc).
  const t0 = Date.now();
  const run = runCli(['run', '--set', 'state.dir=/proc/avs/state'], {}, 30_000);
  assert.equal(run.status, 78, run.stderr);
  assert.match(run.stderr, /state\.dir: .* procfs/);
  assert.ok(Date.now() - t0 < 20_000);
  // A config file's numbers go through the same ranges.
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ mqtt: { keepaliveS: 1e20 } }));
  const fromFile = runCli(['config', '--print', '--config', file], {}, 30_000);
  assert.equal(fromFile.status, 78);
  assert.match(fromFile.stderr, /mqtt\.keepaliveS: must be a whole number from 1 to 65535/);
});
