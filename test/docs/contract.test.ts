/**
 * The published contract holds together: the MQTT schemas compile under ajv's strict mode, every payload example in the
 * README validates against its schema, and the README's configuration table lists exactly the keys of
 * `avscene config --schema`, with their environment variables and defaults. (That every field a real message carries
 * is in its schema is checked on every message the tests receive: test/helpers/mqtt-collector.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const SCHEMAS = path.join(REPO_ROOT, 'schemas', 'mqtt');

test('every MQTT schema compiles under ajv strict mode', () => {
  const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json'));
  assert.ok(files.length >= 4, files.join(' '));
  for (const file of files) {
    const ajv = new Ajv({ strict: true, allErrors: true });
    assert.doesNotThrow(() => ajv.compile(JSON.parse(readFileSync(path.join(SCHEMAS, file), 'utf8'))), file);
  }
});

test("every JSON payload example in the README validates against its topic's schema", () => {
  const ajv = new Ajv({ strict: true, allErrors: true });
  const schema = (name: string) =>
    ajv.compile(JSON.parse(readFileSync(path.join(SCHEMAS, `${name}.schema.json`), 'utf8')));
  // Which schema an example is for, by the fields only that payload has.
  const kinds: Array<[string, (o: Record<string, unknown>) => boolean]> = [
    ['window', (o) => 'probs' in o],
    ['health', (o) => 'mqttQueued' in o],
    ['info', (o) => 'software' in o],
  ];
  const blocks = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 3, `${blocks.length} JSON examples`);
  const seen = new Set<string>();
  for (const block of blocks) {
    const example = JSON.parse(block.replace(/"3f2a…"/, `"${'3f2a'.repeat(16)}"`)) as Record<string, unknown>;
    const kind = kinds.find(([, is]) => is(example))?.[0];
    assert.ok(kind, `a README JSON example of no known payload: ${block.slice(0, 120)}`);
    seen.add(kind);
    const validate = schema(kind);
    assert.ok(validate(example), `README ${kind} example: ${ajv.errorsText(validate.errors)}`);
  }
  assert.deepEqual([...seen].sort(), ['health', 'info', 'window']);
});

test('the README configuration table is `avscene config --schema`: the same keys, environment variables and defaults', () => {
  const r = runCli(['config', '--schema']);
  assert.equal(r.status, 0, r.stderr);
  const schema = JSON.parse(r.stdout) as Record<string, { env?: string; default: unknown }>;
  const section = README.slice(
    README.indexOf('## Configuration'),
    README.indexOf('\n## ', README.indexOf('## Configuration') + 5),
  );
  const documented = new Map<string, { env: string; default: string }>();
  for (const row of section.split('\n').filter((l) => /^\| `[a-z]/.test(l))) {
    const [keys, envs, defaults] = row.split(' | ').map((c) => c.replace(/^\| /, ''));
    const names = [...keys!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const envNames = [...envs!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const defaultCells = defaults!.split(' / ');
    names.forEach((name, i) => {
      // `AVSCENE_MQTT_USERNAME` / `_PASSWORD`: the second replaces the part that names the first key's last level.
      const first = envNames[0]!;
      const lastLevel = names[0]!
        .split('.')
        .at(-1)!
        .replace(/([a-z])([A-Z])/g, '$1_$2')
        .toUpperCase();
      const env =
        i === 0 || !envNames[i]?.startsWith('_')
          ? envNames[i]!
          : first.slice(0, first.length - lastLevel.length - 1) + envNames[i];
      documented.set(name, { env, default: (defaultCells[i] ?? defaultCells[0]!).trim() });
    });
  }
  assert.deepEqual(
    [...documented.keys()].sort(),
    Object.keys(schema).sort(),
    'the same keys in the table and the schema',
  );
  for (const [key, { env, default: cell }] of documented) {
    assert.equal(env, schema[key]!.env, `${key}: environment variable`);
    // Every value the cell names (`$XDG_STATE_HOME/avscene` or `~/.local/state/avscene`), expanded as the code does.
    const literals = [...cell.matchAll(/`([^`]*)`/g)].map((m) =>
      m[1]!.replace(/^~/, os.homedir()).replace('$XDG_STATE_HOME', process.env.XDG_STATE_HOME ?? '\0'),
    );
    const raw = schema[key]!.default;
    // Files shipped with avscene (the demo bundle) are absolute in the schema, relative to the checkout in the table.
    const value = typeof raw === 'string' && raw.startsWith(`${REPO_ROOT}/`) ? path.relative(REPO_ROOT, raw) : raw;
    if (value === '')
      // Empty in the schema: "empty", or what the code derives from other keys (`avscene-<device.id>`, state.dir's paths).
      assert.ok(
        cell === 'empty' || /<[^>]+>|\$[A-Z_]+/.test(cell),
        `${key}: the default is empty, the table says ${cell}`,
      );
    else if (literals.length > 0) {
      const want = Array.isArray(value) ? value.join(',') : String(value);
      assert.ok(literals.includes(want), `${key}: default ${want}, the table says ${cell}`);
    } else assert.fail(`${key}: the table's default ${cell} is not the schema's ${JSON.stringify(value)} in backticks`);
  }
});
