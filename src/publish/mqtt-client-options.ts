/** The mqtt.js connection options from `mqtt.*`: identity, credentials, TLS (CA, client certificate), protocol, will. */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { Topics } from './topics.js';
import { rememberSecret } from '../config/secrets.js';

export interface ConnectionSettings {
  deviceId: string;
  /** Empty = avscene-<deviceId>. */
  clientId?: string;
  username?: string;
  password?: string;
  /** Read before every connection attempt: a rotated password is picked up without a restart. */
  passwordFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  protocolVersion?: '3.1.1' | '5';
  keepaliveS?: number;
}

export function clientIdFor(settings: ConnectionSettings): string {
  return settings.clientId || `avscene-${settings.deviceId}`;
}

export function clientOptions(settings: ConnectionSettings, topics: Topics): IClientOptions {
  const file = (p?: string) => (p ? readFileSync(p) : undefined);
  return {
    clientId: clientIdFor(settings),
    protocolVersion: settings.protocolVersion === '5' ? 5 : 4,
    // A fresh session each time: the durable outbox, not the broker session, holds what is unacknowledged.
    clean: true,
    keepalive: settings.keepaliveS ?? 60,
    connectTimeout: 10_000,
    // Reconnection is ours (MqttPublisher): mqtt.js' fixed period does not back off and stops after a refused CONNACK.
    reconnectPeriod: 0,
    username: settings.username || undefined,
    password: currentPassword(settings),
    ca: file(settings.ca),
    cert: file(settings.cert),
    key: file(settings.key),
    rejectUnauthorized: !settings.insecure,
    will: { topic: topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
  };
}

export function currentPassword(settings: ConnectionSettings): string | undefined {
  if (settings.passwordFile) {
    const password = readFileSync(settings.passwordFile, 'utf8').split(/\r?\n/)[0];
    rememberSecret(password); // masked wherever it might show up in a log or an error
    return password;
  }
  return settings.password || undefined;
}
