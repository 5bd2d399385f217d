/**
 * The Home Assistant discovery templates rendered by Jinja2 (the engine Home Assistant runs them with; Debian's
 * python3-jinja2, sandboxed as there) against real payloads: what the entities will show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { homeAssistantDiscovery } from '../../src/publish/homeassistant.js';
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
    ctx = {'value': value, 'value_json': json.loads(value)}
    out[name] = {k: env.from_string(entity[k]).render(**ctx) for k in ('value_template', 'json_attributes_template') if k in entity}
print(json.dumps(out))
`;

const CLASSES = ['bus', 'park', 'street_traffic'];
const topics = topicsFor('avscene', 'lobby-east');

function scene(label: string): ScenePayload {
  return {
    label,
    confidence: 0.813457,
    probs: { bus: 0.120001, park: 0.813457, street_traffic: 0.066542 },
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

function render(label: string): Record<string, Record<string, string>> {
  const configs = homeAssistantDiscovery({
    discoveryPrefix: 'homeassistant',
    deviceId: 'lobby-east',
    topics,
    model: { name: 'demo-audio', version: '1.1.0', classes: CLASSES },
    softwareVersion: '0.1.0',
  });
  for (const c of configs) assert.equal(contractViolation(c.topic, c.payload), null, c.topic);
  const entities = Object.fromEntries(
    configs.map((c) => [c.topic.split('/')[3]!, JSON.parse(c.payload) as Record<string, string>]),
  );
  const messages = { [topics.scene]: windowJson(scene(label)), [topics.health]: health };
  const r = spawnSync('/usr/bin/python3', ['-c', RENDER], {
    input: JSON.stringify({ entities, messages }),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `python3 with jinja2 (Debian python3-jinja2, installed by make test): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, Record<string, string>>;
}

test('the scene entity shows the label, with the class probabilities as attributes rounded to 2 decimals', () => {
  const out = render('park');
  assert.equal(out.scene!.value_template, 'park');
  assert.deepEqual(JSON.parse(out.scene!.json_attributes_template!), { bus: 0.12, park: 0.81, street_traffic: 0.07 });
  assert.equal(Number(out.confidence!.value_template), 81);
});

test("an unknown label is Home Assistant's own unknown (None), not a class", () => {
  assert.equal(render('unknown').scene!.value_template, 'None');
});

test('the diagnostic entities read the health report and the model of the scene', () => {
  const out = render('park');
  assert.equal(out.latency!.value_template, '91');
  assert.equal(out.dropped!.value_template, '5', 'behind real time plus past the outbox bounds');
  assert.equal(out.queued!.value_template, '5');
  assert.equal(out.bundle!.value_template, 'demo-audio 1.1.0');
});
