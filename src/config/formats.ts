/**
 * Strict convict formats. convict's own coercion turns "maybe" into true and "abc" into NaN before validating, so the
 * error would not show what the user typed; these keep the original text until it is known to be valid.
 */
import convict from 'convict';

function coerceInteger(value: unknown): unknown {
  return typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function registerStrictFormats(): void {
  convict.addFormats({
    'strict-boolean': {
      coerce: (value: unknown) => (value === 'true' ? true : value === 'false' ? false : value),
      validate: (value: unknown) => {
        if (typeof value !== 'boolean') throw new Error(`must be true or false: value was ${describe(value)}`);
      },
    },
    'positive-count': {
      coerce: coerceInteger,
      validate: (value: unknown) => {
        if (!Number.isInteger(value) || (value as number) < 1)
          throw new Error(`must be a whole number ≥ 1: value was ${describe(value)}`);
      },
    },
    'listen-address': {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || (value !== '' && !/^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(value))) {
          throw new Error(
            `must be host:port (e.g. 127.0.0.1:8766, 0.0.0.0:8766, [::1]:8766) or "" for off: value was ${describe(value)}`,
          );
        }
      },
    },
    count: {
      coerce: coerceInteger,
      validate: (value: unknown) => {
        if (!Number.isInteger(value) || (value as number) < 0) {
          throw new Error(`must be a whole number ≥ 0: value was ${describe(value)}`);
        }
      },
    },
    'positive-number': {
      coerce: (value: unknown) =>
        typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value,
      validate: (value: unknown) => {
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
          throw new Error(`must be a number > 0: value was ${describe(value)}`);
        }
      },
    },
    'device-id': {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
          throw new Error(
            `must be 1–64 letters, digits, "_" or "-" (it becomes an MQTT topic level): value was ${describe(value)}`,
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
    'tcp-port': {
      coerce: coerceInteger,
      validate: (value: unknown) => {
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
          throw new Error(`must be a TCP port 0–65535 (0 = any free port): value was ${describe(value)}`);
        }
      },
    },
  });
}
