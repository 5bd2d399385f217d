/**
 * The Home Assistant discovery templates rendered by Jinja2 (the engine Home Assistant runs them with; Debian's
 * python3-jinja2, sandboxed as there) against real payloads: what the entities will show; and the entity ids and
 * discovery topics a device id gives, against what the README documents and what Home Assistant accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { homeAssistantDiscovery } from '../../src/publish/homeassistant.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { windowJson, type ScenePayload } from '../../src/publish/payload.js';
import { topicsFor } from '../../src/publish/topics.js';
import { contractViolation } from '../helpers/message-schemas.js';

const RENDER = `
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment()
job = json.load(sys.stdin)
out = {}
for name, entity in job['entities'].items():
    value = job['messages'][entity['state_topic']]
    if 'json_attributes_topic' in entity: raise SystemExit(name + ': attributes')
    ctx = {'value': value, 'value_json': json.loads(value)}
    out[name] = {k: env.from_string(entity[k]).render(**ctx) for k in ('value_template', 'json_attributes_template') if k in entity}
print(json.dumps(out))
`;

const CLASSES = ['bus', 'park', 'street_traffic'];
const topics = topicsFor('avscene', 'lobby-east');

function scene(label: string, probs = { bus: 0.120001, park: 0.813457, street_traffic: 0.066542 }): ScenePayload {
  return {
    label,
    confidence: probs.park,
    probs,
    seq: 7,
    device: 'lobby-east',
    window: { start: '2026-12-01T10:00:00.000Z', end: '2026-12-01T10:00:01.000Z' },
    modalities: ['audio'],
    degraded: false,
    model: { name: 'demo-audio', version: '1.1.0' },
    latencyMs: 80,
  };
}

const health = JSON.stringify({
  schemaVersion: 1,
  windows: 60,
  degraded: 0,
  dropped: 2,
  invalid: 0,
  latencyP50Ms: 60,
  latencyP95Ms: 91,
  mqttConnected: 1,
  mqttQueued: 5,
  mqttDropped: 3,
  mqttReconnects: 1,
  mqttOldestQueuedS: 4,
  rssMB: 300,
  uptimeS: 61,
});

const info = JSON.stringify({
  schemaVersion: 1,
  device: 'lobby-east',
  software: '0.1.0',
  model: { name: 'demo-audio', version: '1.1.0', sha256: 'ab'.repeat(32), signed: false },
  since: '2026-12-01T10:00:00.000Z',
});

const discovery = (deviceId = 'lobby-east') =>
  homeAssistantDiscovery({
    discoveryPrefix: 'homeassistant',
    deviceId,
    topics: topicsFor('avscene', deviceId),
    model: { name: 'demo-audio', version: '1.1.0', classes: CLASSES },
    softwareVersion: '0.1.0',
    configurationUrl: 'http://192.0.2.7:8766/',
  });

function render(label: string, probs?: Parameters<typeof scene>[1]): Record<string, Record<string, string>> {
  const configs = discovery();
  for (const c of configs) assert.equal(contractViolation(c.topic, c.payload), null, c.topic);
  const entities = Object.fromEntries(
    configs.map((c) => [c.topic.split('/')[3]!, JSON.parse(c.payload) as Record<string, string>]),
  );
  const messages = { [topics.scene]: windowJson(scene(label, probs)), [topics.health]: health, [topics.info]: info };
  const r = spawnSync('/usr/bin/python3', ['-c', RENDER], {
    input: JSON.stringify({ entities, messages }),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `python3 with jinja2 (Debian python3-jinja2, installed by make test): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, Record<string, string>>;
}

test('the scene entity shows the label and nothing that changes while the label stays; each class has a probability sensor, disabled by default', () => {
  const out = render('park');
  assert.deepEqual(out.scene, { value_template: 'park' }, 'the label, no attributes');
  // Another window with the same label and other probabilities: the Scene entity's state and attributes are the same,
  // so Home Assistant records nothing new.
  const next = render('park', { bus: 0.3, park: 0.6, street_traffic: 0.1 });
  assert.deepEqual(next.scene, out.scene);
  assert.equal(Number(out.confidence!.value_template), 81);
  assert.equal(Number(next.confidence!.value_template), 60);
  assert.equal(out.prob_park!.value_template, '81.3');
  assert.equal(out.prob_street_traffic!.value_template, '6.7');
  const configs = discovery().map((c) => JSON.parse(c.payload) as Record<string, unknown>);
  const perClass = configs.filter((c) => String(c.unique_id).includes('_prob_'));
  assert.equal(perClass.length, CLASSES.length);
  assert.ok(perClass.every((c) => c.enabled_by_default === false));
  assert.ok(configs.filter((c) => !String(c.unique_id).includes('_prob_')).every((c) => !('enabled_by_default' in c)));
  assert.ok(
    configs.every((c) => (c.device as { configuration_url: string }).configuration_url === 'http://192.0.2.7:8766/'),
  );
});

test("an unknown label is Home Assistant's own unknown (None), not a class", () => {
  assert.equal(render('unknown').scene!.value_template, 'None');
});

test('the diagnostic entities read the health report, and the model bundle from …/info', () => {
  const out = render('park');
  assert.equal(out.latency!.value_template, '91');
  assert.equal(out.dropped!.value_template, '5', 'behind real time plus past the outbox bounds');
  assert.equal(out.queued!.value_template, '5');
  assert.equal(out.bundle!.value_template, 'demo-audio 1.1.0');
});

test('a device id Home Assistant rewrites (ha-living-room.2) gives exactly the entity ids the README documents, on topics Home Assistant accepts', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('### Home Assistant'),
    readme.indexOf('\n## ', readme.indexOf('### Home Assistant')),
  );
  const example = /`device\.id` `([^`]+)` gives `([a-z0-9_]+)`/.exec(section);
  assert.ok(example, 'the README shows what a device id becomes in entity ids');
  assert.equal(example[1], 'ha-living-room.2');
  const documented = [...section.matchAll(/^\| [^|]+ \| `(sensor\.avscene_<id>_[a-z0-9_<>]+)` \|/gm)].map((m) => m[1]!);
  assert.ok(documented.length >= 7, documented.join(' '));
  const configs = discovery(example[1]).map((c) => ({
    topic: c.topic,
    ...(JSON.parse(c.payload) as { default_entity_id: string }),
  }));
  const expected = documented
    .flatMap((id) => (id.includes('<class>') ? CLASSES.map((c) => id.replace('<class>', c)) : [id]))
    .map((id) => id.replace('<id>', example[2]!));
  assert.deepEqual(configs.map((c) => c.default_entity_id).sort(), expected.sort());
  // Home Assistant's discovery topic pattern (homeassistant/components/mqtt/discovery.py).
  const HA_TOPIC = /^homeassistant\/(\w+)\/(?:([a-zA-Z0-9_-]+)\/)?([a-zA-Z0-9_-]+)\/config$/;
  for (const c of configs) assert.match(c.topic, HA_TOPIC);
});
