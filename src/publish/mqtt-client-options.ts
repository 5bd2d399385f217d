/**
 * The mqtt.js connection options from `mqtt.*`: identity, credentials, TLS (CA, client certificate), protocol, will.
 * The daemon's publisher and the subscribers (`avscene watch`, `run --watch`) reach the broker with the same access.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { Topics } from './topics.js';
import { rememberSecret } from '../config/secrets.js';

/** What any client of the configured broker needs to be let in: credentials, TLS, protocol. */
export interface BrokerAccess {
  username?: string;
  password?: string;
  /** Read before every connection attempt: a rotated password is picked up without a restart. */
  passwordFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  /** "3.1.1" or "5" (the config refuses any other). */
  protocolVersion?: string;
}

export interface ConnectionSettings extends BrokerAccess {
  deviceId: string;
  /** Empty = avscene-<deviceId>. */
  clientId?: string;
  keepaliveS?: number;
}

export function clientIdFor(settings: ConnectionSettings): string {
  return settings.clientId || `avscene-${settings.deviceId}`;
}

export function clientOptions(settings: ConnectionSettings, topics: Topics): IClientOptions {
  return {
    clientId: clientIdFor(settings),
    // A fresh session each time: the durable outbox, not the broker session, holds what is unacknowledged.
    clean: true,
    keepalive: settings.keepaliveS ?? 60,
    connectTimeout: 10_000,
    // Reconnection is ours (MqttPublisher): mqtt.js' fixed period does not back off and stops after a refused CONNACK.
    reconnectPeriod: 0,
    ...accessOptions(settings),
    will: { topic: topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
  };
}

/** The credentials (the password file read now), TLS files and protocol of `settings`, as mqtt.js options. */
export function accessOptions(settings: BrokerAccess): IClientOptions {
  const file = (p?: string) => (p ? readFileSync(p) : undefined);
  return {
    protocolVersion: settings.protocolVersion === '5' ? 5 : 4,
    username: settings.username || undefined,
    password: currentPassword(settings),
    ca: file(settings.ca),
    cert: file(settings.cert),
    key: file(settings.key),
    rejectUnauthorized: !settings.insecure,
  };
}

export function currentPassword(settings: BrokerAccess): string | undefined {
  if (settings.passwordFile) {
    const password = readFileSync(settings.passwordFile, 'utf8').split(/\r?\n/)[0];
    rememberSecret(password); // masked wherever it might show up in a log or an error
    return password;
  }
  return settings.password || undefined;
}
