/** What the README tells an operator holds: the log-reading command works from any directory, and every environment
 *  variable the code or the unit reads outside the configuration schema is documented. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const UNIT = readFileSync(path.join(REPO_ROOT, 'systemd', 'avscene.service'), 'utf8');
const INSTALL_DIR = '/opt/avscene';

test("the README's journalctl | pino-pretty line turns the daemon's journal lines into text, from any directory", () => {
  const hint = /^journalctl -u avscene (.*)\| (\S+pino-pretty)$/m.exec(README);
  assert.ok(hint, 'README shows `journalctl -u avscene … | …pino-pretty`');
  assert.match(hint[1]!, /-o cat\b/, 'journald\'s "Dec 02 host node[1]:" prefix would hide the JSON from pino-pretty');
  assert.ok(
    hint[2]!.startsWith(`${INSTALL_DIR}/`),
    `an absolute path into the install directory, not npx (which only works there): ${hint[2]}`,
  );
  assert.ok(UNIT.includes(`journalctl -u avscene -o cat -f | ${hint[2]}`), "the unit file's comment says the same");
  // Run it as installed (here the checkout plays /opt/avscene) from another directory, on a line as `-o cat` prints it.
  const prettyBin = path.join(REPO_ROOT, path.relative(INSTALL_DIR, hint[2]!));
  const line = JSON.stringify({ level: 40, time: Date.now(), name: 'avscene', msg: 'MQTT connection lost' });
  const r = spawnSync(prettyBin, [], { cwd: os.tmpdir(), input: `${line}\n`, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /WARN.*MQTT connection lost/);
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

test("environment variables read outside the schema, and the unit's environment file, are documented", () => {
  const read = new Set(
    sources(path.join(REPO_ROOT, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/process\.env\.(AVSCENE_[A-Z_]+)/g)].map((m) => m[1]!),
    ),
  );
  const fromUnit = [...UNIT.matchAll(/^Environment=(AVSCENE_[A-Z_]+)=/gm)].map((m) => m[1]!);
  const names = [...new Set([...read, ...fromUnit])];
  assert.ok(names.includes('AVSCENE_DEBUG') && names.includes('AVSCENE_LOG_FORMAT'), `found ${names.join(', ')}`);
  for (const name of names) assert.match(README, new RegExp(`\`${name}\``), `${name} is documented in README.md`);
  const envFile = /^EnvironmentFile=-?(\S+)$/m.exec(UNIT)?.[1];
  assert.ok(envFile, 'the unit reads an environment file');
  assert.ok(README.includes(`\`${envFile}\``), `${envFile} is documented in README.md`);
});
