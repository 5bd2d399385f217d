/**
 * The MQTT contract as JSON Schemas (schemas/mqtt/): which schema a topic's payload must satisfy. The Collector checks
 * every message a test receives against it, so every message in the tests validates.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { REPO_ROOT } from './paths.js';

/** Strict: a schema with a keyword ajv does not know, or a `required` naming an undeclared property, does not compile. */
export const ajv = new Ajv({ allErrors: true, strict: true });
const load = (name: string): ValidateFunction =>
  ajv.compile(
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'schemas', 'mqtt', `${name}.schema.json`), 'utf8')) as object,
  );
const windowSchema = load('window');
const healthSchema = load('health');
const discoverySchema = load('homeassistant-config');
const infoSchema = load('info');

/** Why `payload` breaks the contract of `topic`, or null when it keeps it (or the topic is not ours). */
export function contractViolation(topic: string, payload: string): string | null {
  // An empty retained message clears a retained topic (a renamed or forgotten device, an entity gone).
  if (payload === '' && /\/(scene|label|status|health|info|config)$/.test(topic)) return null;
  const json = (validate: ValidateFunction): string | null => {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      return `not JSON: ${payload.slice(0, 80)}`;
    }
    return validate(value) ? null : ajv.errorsText(validate.errors);
  };
  if (/\/(scene|window)$/.test(topic)) return json(windowSchema);
  if (/\/health$/.test(topic)) return json(healthSchema);
  if (/\/info$/.test(topic)) return json(infoSchema);
  if (/\/config$/.test(topic)) return json(discoverySchema);
  if (/\/status$/.test(topic) && !topic.startsWith('homeassistant/'))
    return payload === 'online' || payload === 'offline' ? null : `status "${payload}"`;
  if (/\/label$/.test(topic)) return payload.length > 0 && !payload.startsWith('{') ? null : `label "${payload}"`;
  return null;
}
