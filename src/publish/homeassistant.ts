/**
 * Home Assistant MQTT discovery: one retained config message per entity, so the scene shows up in Home Assistant
 * without YAML: the scene (class probabilities as attributes), its confidence, and diagnostic entities (latency,
 * dropped windows, queued messages, model bundle). Entity ids come from `default_entity_id` (Home Assistant 2026.4
 * removed `object_id`). https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
 *
 * What was announced is remembered in `state.dir`, so turning discovery off or changing `device.id` removes the old
 * entities with an empty retained config instead of leaving them "unavailable" forever.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UNKNOWN_LABEL } from '../fusion/index.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import type { Topics } from './topics.js';

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

/** The scene shows "unavailable" this long after its last update: a stuck daemon is not a stale label. */
export const SCENE_EXPIRE_AFTER_S = 30;

export interface DiscoveryInput {
  discoveryPrefix: string;
  deviceId: string;
  topics: Topics;
  model: { name: string; version: string; classes: readonly string[] };
  softwareVersion: string;
  /** Where users get help (package.json `homepage`); omitted when unknown. */
  supportUrl?: string;
}

/** Home Assistant publishes `online` here when it starts: the cue to announce again. */
export function homeAssistantStatusTopic(discoveryPrefix: string): string {
  return `${discoveryPrefix}/status`;
}

export function homeAssistantDiscovery(input: DiscoveryInput): DiscoveryMessage[] {
  const { discoveryPrefix, deviceId, topics, model } = input;
  const device = {
    identifiers: [`avscene_${deviceId}`],
    name: `avscene ${deviceId}`,
    manufacturer: 'avscene',
    model: `${model.name} ${model.version}`,
    sw_version: input.softwareVersion,
  };
  const origin = {
    name: 'avscene',
    sw_version: input.softwareVersion,
    ...(input.supportUrl ? { support_url: input.supportUrl } : {}),
  };
  const availability = {
    availability_topic: topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  const entity = (objectId: string, config: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${discoveryPrefix}/sensor/avscene_${deviceId}/${objectId}/config`,
    payload: JSON.stringify({
      ...config,
      ...availability,
      device,
      origin,
      unique_id: `avscene_${deviceId}_${objectId}`,
      default_entity_id: `sensor.avscene_${deviceId.toLowerCase().replace(/-/g, '_')}_${objectId}`,
    }),
  });
  const diagnostic = { entity_category: 'diagnostic', state_topic: topics.health };
  return [
    entity('scene', {
      name: 'Scene',
      icon: 'mdi:map-marker-question',
      state_topic: topics.scene,
      // UNKNOWN_LABEL (no head could run) becomes Home Assistant's own unknown state, which an enum sensor accepts.
      value_template: `{{ value_json.label if value_json.label != '${UNKNOWN_LABEL}' else None }}`,
      json_attributes_topic: topics.scene,
      // Two decimals: attributes that change every second would make the recorder write a row every second.
      // (Plain Jinja, no Home Assistant extension: renders a JSON object such as {"bus": 0.12, "park": 0.81}.)
      json_attributes_template:
        "{{ '{' }}{% for k, v in value_json.probs.items() %}{{ k | tojson }}: {{ v | round(2) }}{{ ', ' if not loop.last }}{% endfor %}{{ '}' }}",
      device_class: 'enum',
      options: [...model.classes],
      expire_after: SCENE_EXPIRE_AFTER_S,
    }),
    entity('confidence', {
      name: 'Scene confidence',
      icon: 'mdi:gauge',
      state_topic: topics.scene,
      value_template: '{{ (value_json.confidence * 100) | round(0) }}',
      unit_of_measurement: '%',
      state_class: 'measurement',
      expire_after: SCENE_EXPIRE_AFTER_S,
    }),
    entity('latency', {
      ...diagnostic,
      name: 'Latency p95',
      icon: 'mdi:timer-outline',
      value_template: '{{ value_json.latencyP95Ms }}',
      unit_of_measurement: 'ms',
      device_class: 'duration',
      state_class: 'measurement',
    }),
    entity('dropped', {
      ...diagnostic,
      name: 'Dropped windows',
      icon: 'mdi:delete-alert-outline',
      // Behind real time (inference) plus past the outbox bounds (MQTT); counts since the daemon started.
      value_template: '{{ value_json.dropped + value_json.mqttDropped }}',
      state_class: 'total_increasing',
    }),
    entity('queued', {
      ...diagnostic,
      name: 'Queued messages',
      icon: 'mdi:tray-full',
      value_template: '{{ value_json.mqttQueued }}',
      state_class: 'measurement',
    }),
    entity('bundle', {
      ...diagnostic,
      name: 'Model bundle',
      icon: 'mdi:brain',
      state_topic: topics.scene,
      value_template: '{{ value_json.model.name }} {{ value_json.model.version }}',
    }),
  ];
}

/**
 * The discovery messages to send this run: an empty retained config for every topic announced before and not now
 * (discovery turned off, device.id changed, an entity gone), then the current configs. `commit()` records the current
 * set in `file` once the broker has them.
 */
export function discoveryUpdate(
  file: string,
  current: DiscoveryMessage[],
): { messages: DiscoveryMessage[]; commit(): void } {
  const now = new Set(current.map((m) => m.topic));
  const removals = announcedBefore(file)
    .filter((topic) => !now.has(topic))
    .map((topic) => ({ topic, payload: '' }));
  return {
    messages: [...removals, ...current],
    commit: () => writeFileAtomic(file, JSON.stringify({ topics: [...now] }, null, 1) + '\n'),
  };
}

function announcedBefore(file: string): string[] {
  if (!existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { topics?: unknown };
    return Array.isArray(parsed.topics) ? parsed.topics.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}
