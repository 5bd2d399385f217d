/**
 * Strict convict formats. convict's own coercion turns "maybe" into true and "abc" into NaN before validating, so the
 * error would not show what the user typed; these keep the original text until it is known to be valid.
 */
import path from 'node:path';
import convict from 'convict';

function coerceInteger(value: unknown): unknown {
  return typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
}

/** The range of an `integer` key, as its schema entry declares it. */
export interface RangeSchema {
  min: number;
  max: number;
}

export function rangeText(range: RangeSchema): string {
  return `${range.min} to ${range.max}`;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * device.id: one MQTT topic level without wildcards; not starting with ".", since the id also names files and folders
 * in state.dir ("." and ".." would escape them).
 */
export const DEVICE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export function registerStrictFormats(): void {
  convict.addFormats({
    'strict-boolean': {
      coerce: (value: unknown) => (value === 'true' ? true : value === 'false' ? false : value),
      validate: (value: unknown) => {
        if (typeof value !== 'boolean') throw new Error(`must be true or false: value was ${describe(value)}`);
      },
    },
    'listen-address': {
      validate: (value: unknown) => {
        const m = typeof value === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(value) : null;
        if (value !== '' && (m === null || Number(m[2]) > 65535)) {
          throw new Error(
            `must be host:port with a port 0–65535 (e.g. 127.0.0.1:8766, 0.0.0.0:8766, [::1]:8766) or "" for off: value was ${describe(value)}`,
          );
        }
      },
    },
    'broker-url': {
      validate: (value: unknown) => {
        const problem = typeof value === 'string' ? brokerUrlProblem(value) : 'must be a string';
        if (problem !== null) throw new Error(`${problem}: value was ${describe(value)}`);
      },
    },
    'host-list': {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || (value !== '' && !hostList(value).every((h) => /^[a-z0-9.-]+$/i.test(h))))
          throw new Error(
            `must be a comma list of host names (letters, digits, "." and "-"), e.g. "kitchen.local,avscene-7.lan": value was ${describe(value)}`,
          );
      },
    },
    'state-dir': {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || !path.isAbsolute(value))
          throw new Error(
            `must be an absolute directory path such as /var/lib/avscene (an empty or relative one would put the state wherever the daemon was started): value was ${describe(value)}`,
          );
      },
    },
    integer: {
      coerce: coerceInteger,
      validate: (value: unknown, item: unknown) => {
        const schema = item as RangeSchema;
        if (!Number.isInteger(value) || (value as number) < schema.min || (value as number) > schema.max)
          throw new Error(`must be a whole number from ${rangeText(schema)}: value was ${describe(value)}`);
      },
    },
    /** A number above `above` (exclusive) and at most `max`, fractions allowed. */
    number: {
      coerce: (value: unknown) =>
        typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value,
      validate: (value: unknown, item: unknown) => {
        const schema = item as RangeSchema & { above: number };
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= schema.above || value > schema.max)
          throw new Error(`must be a number > ${schema.above} and ≤ ${schema.max}: value was ${describe(value)}`);
      },
    },
    'device-id': {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || !DEVICE_ID.test(value)) {
          throw new Error(
            `must be 1–64 letters, digits, "_", "-" or "." and not start with "." (it becomes an MQTT topic level and a file name): value was ${describe(value)}`,
          );
        }
      },
    },
    'topic-prefix': {
      validate: (value: unknown) => {
        if (
          typeof value !== 'string' ||
          value === '' ||
          /[#+\s]/.test(value) ||
          value.startsWith('/') ||
          value.endsWith('/')
        ) {
          throw new Error(
            `must be a non-empty MQTT topic without wildcards (#, +), spaces or leading/trailing "/": value was ${describe(value)}`,
          );
        }
      },
    },
    'provider-list': {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || !/^(auto|(tensorrt|cuda|cpu)(,(tensorrt|cuda|cpu))*)$/.test(value)) {
          throw new Error(
            `must be "auto" or a comma list of tensorrt, cuda, cpu (e.g. "cuda,cpu"): value was ${describe(value)}`,
          );
        }
      },
    },
  });
}

/** The names of a `host-list` value ("" = none). */
export function hostList(value: string): string[] {
  return value === '' ? [] : value.split(',').map((h) => h.trim());
}

const BROKER_SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];

/**
 * Why `url` is not a broker URL mqtt.js can use as written, or null ("" = the embedded broker). WHATWG parsing refuses
 * what the legacy parser in mqtt.js would silently mend: a port that is not a number (mqtt.js then connects to
 * localhost:1883, credentials included), a URL without "//" or host.
 */
export function brokerUrlProblem(url: string): string | null {
  if (url === '') return null;
  const fix = 'use mqtt://host:1883, mqtts://host:8883, ws(s)://host/path, or "" for the embedded broker';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `is not a valid URL (scheme://host:port; a password with @ : / ? # must be percent-encoded); ${fix}`;
  }
  if (!BROKER_SCHEMES.includes(parsed.protocol) || !/^[a-z]+:\/\//i.test(url))
    return `is not a broker URL (scheme mqtt, mqtts, ws, wss, tcp or ssl, then //); ${fix}`;
  if (parsed.hostname === '') return `names no broker host; ${fix}`;
  if (parsed.port === '0') return `has port 0, which no broker listens on; ${fix}`;
  return null;
}
