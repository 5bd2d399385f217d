/** A subscriber that prints scene messages as one line each: `avscene watch` and `avscene run --watch`. */
import mqtt from 'mqtt';
import { maskSecrets } from '../config/secrets.js';
import type { ScenePayload } from './payload.js';
import { explainConnectError } from './mqtt-errors.js';
import { accessOptions, type BrokerAccess } from './mqtt-client-options.js';

export interface WatchOptions {
  url: string;
  /** Topic filter, e.g. avscene/+/scene. */
  topic: string;
  /** Credentials and TLS: the daemon's `mqtt.*` (a broker that lets the daemon in lets its watcher in). */
  access: BrokerAccess;
  /** Print the raw JSON instead of a summary line. */
  json?: boolean;
  print: (line: string) => void;
}

export async function watchLabels(options: WatchOptions): Promise<() => Promise<void>> {
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(options.url, {
      clientId: `avscene-watch-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 2000,
      ...accessOptions(options.access),
    });
  } catch (err) {
    // The daemon's explanation of the same failure (cause and fix), e.g. "nothing listens there: is the broker running…".
    const { explanation } = explainConnectError(err as Error & { code?: string | number });
    throw new Error(`cannot connect to the broker at ${maskSecrets(options.url)}: ${explanation}`, { cause: err });
  }
  client.on('message', (topic, payload) =>
    options.print(options.json ? payload.toString() : formatScene(topic, payload.toString())),
  );
  await client.subscribeAsync(options.topic, { qos: 1 });
  return async () => {
    await client.endAsync();
  };
}

export function formatScene(topic: string, text: string): string {
  let message: ScenePayload;
  try {
    message = JSON.parse(text) as ScenePayload;
  } catch {
    return `${topic} ${text}`;
  }
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const runnerUp = Object.entries(message.probs ?? {})
    .filter(([label]) => label !== message.label)
    .sort((a, b) => b[1] - a[1])[0];
  const time = (iso: string) => iso.slice(11, 19);
  return [
    `${topic} #${message.seq}`,
    `${time(message.window.start)}–${time(message.window.end)}`,
    `${message.label} ${pct(message.confidence)}`,
    runnerUp ? `(next: ${runnerUp[0]} ${pct(runnerUp[1])})` : '',
    `[${message.modalities.join('+')}${message.degraded ? ', degraded' : ''}]`,
  ]
    .filter(Boolean)
    .join('  ');
}
