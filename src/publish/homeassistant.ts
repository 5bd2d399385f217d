/**
 * Home Assistant MQTT discovery: one retained config message per entity, so the scene shows up in Home Assistant
 * without YAML (a sensor with the label, its probabilities as attributes, and a confidence sensor).
 * https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
 */
import type { Topics } from './topics.js';

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

export function homeAssistantDiscovery(
  discoveryPrefix: string,
  deviceId: string,
  topics: Topics,
  model: { name: string; version: string; classes: readonly string[] },
  softwareVersion: string,
): DiscoveryMessage[] {
  const device = {
    identifiers: [`avscene_${deviceId}`],
    name: `avscene ${deviceId}`,
    manufacturer: 'avscene',
    model: `${model.name} ${model.version}`,
    sw_version: softwareVersion,
  };
  const availability = { availability_topic: topics.status, payload_available: 'online', payload_not_available: 'offline' };
  const entity = (component: string, objectId: string, config: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${discoveryPrefix}/${component}/avscene_${deviceId}/${objectId}/config`,
    payload: JSON.stringify({ ...config, ...availability, device, unique_id: `avscene_${deviceId}_${objectId}`, object_id: `avscene_${deviceId}_${objectId}` }),
  });
  return [
    entity('sensor', 'scene', {
      name: 'Scene',
      icon: 'mdi:map-marker-question',
      state_topic: topics.scene,
      // "unknown" (no head could run) becomes Home Assistant's own unknown state, which an enum sensor accepts.
      value_template: "{{ value_json.label if value_json.label != 'unknown' else None }}",
      json_attributes_topic: topics.scene,
      json_attributes_template: '{{ value_json.probs | tojson }}',
      device_class: 'enum',
      options: [...model.classes],
    }),
    entity('sensor', 'confidence', {
      name: 'Scene confidence',
      icon: 'mdi:gauge',
      state_topic: topics.scene,
      value_template: '{{ (value_json.confidence * 100) | round(1) }}',
      unit_of_measurement: '%',
      state_class: 'measurement',
    }),
  ];
}
