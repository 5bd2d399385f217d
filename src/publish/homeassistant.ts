/**
 * Home Assistant MQTT discovery: one retained config message per entity, so the scene shows up in Home Assistant
 * without YAML: the scene, its confidence, one probability sensor per class (disabled by default), and diagnostic
 * entities (latency, dropped windows, queued messages, model bundle). Entity ids come from `default_entity_id` (Home
 * Assistant 2025.10; 2026.4 removed `object_id`). https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
 *
 * The Scene entity has no attributes: Home Assistant records a state row whenever state or attributes change, and its
 * developer docs ask integrations not to put frequently changing values in attributes
 * (developers.home-assistant.io/docs/core/entity, "state attributes"); the probabilities changed with every window,
 * so the label wrote a row every second even while it stayed the same. Each class's probability is its own sensor,
 * disabled by default, for those who want to chart it (and can exclude it from the recorder).
 *
 * What was announced is remembered in `state.dir` (retained-topics.ts), so turning discovery off or changing
 * `device.id` removes the old entities with an empty retained config instead of leaving them "unavailable" forever.
 */
import { UNKNOWN_LABEL } from '../fusion/index.js';
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
  /** The device's status page when it listens on an address Home Assistant can reach (not loopback). */
  configurationUrl?: string;
}

/**
 * Home Assistant's slug of a name (what it makes of an entity id it is given): lower case, every run of other
 * characters than a-z and 0-9 one `_`, none at either end. `ha-living-room.2` → `ha_living_room_2`.
 */
export function haSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** The discovery topic's node id: Home Assistant accepts only letters, digits, `_` and `-` there. */
export function discoveryNodeId(deviceId: string): string {
  return `avscene_${deviceId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
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
    ...(input.configurationUrl ? { configuration_url: input.configurationUrl } : {}),
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
    topic: `${discoveryPrefix}/sensor/${discoveryNodeId(deviceId)}/${objectId}/config`,
    payload: JSON.stringify({
      ...config,
      ...availability,
      device,
      origin,
      unique_id: `avscene_${deviceId}_${objectId}`,
      default_entity_id: `sensor.${haSlug(`avscene_${deviceId}_${objectId}`)}`,
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
    ...model.classes.map((name) =>
      entity(`prob_${haSlug(name)}`, {
        name: `Probability ${name.replace(/_/g, ' ')}`,
        icon: 'mdi:percent-outline',
        state_topic: topics.scene,
        value_template: `{{ (value_json.probs[${JSON.stringify(name)}] * 100) | round(1) }}`,
        unit_of_measurement: '%',
        state_class: 'measurement',
        expire_after: SCENE_EXPIRE_AFTER_S,
        enabled_by_default: false,
      }),
    ),
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
      // …/info changes only with the bundle (…/scene, every second, would rewrite the same text).
      state_topic: topics.info,
      value_template: '{{ value_json.model.name }} {{ value_json.model.version }}',
    }),
  ];
}
