/**
 * What the outbox and publisher tests share: an outbox with the daemon's timings on a clock the test moves, draining
 * it as a broker that acknowledges everything would, and a scene message to publish.
 */
import { Outbox, type OutboxEntry, type OutboxOptions } from '../../src/publish/outbox.js';
import type { ScenePayload } from '../../src/publish/payload.js';

export const WINDOW_TOPIC = 'avscene/dev/window';

/** 1 MiB, an hour, fdatasync every 5 s, write-ahead after 1 s; `now` is the test's clock. */
export function outboxOptions(dir: string, clock: { t: number }, extra: Partial<OutboxOptions> = {}): OutboxOptions {
  return {
    dir,
    maxBytes: 1 << 20,
    maxAgeMs: 3600_000,
    syncIntervalMs: 5000,
    writeAheadAfterMs: 1000,
    now: () => clock.t,
    ...extra,
  };
}

export const openOutbox = (dir: string, clock: { t: number }, extra: Partial<OutboxOptions> = {}) =>
  new Outbox(outboxOptions(dir, clock, extra));

/** Sends and acknowledges everything queued; returns the entries in the order they went out. */
export function drainOutbox(outbox: Outbox): OutboxEntry[] {
  const sent: OutboxEntry[] = [];
  for (let entry = outbox.takeNext(); entry; entry = outbox.takeNext()) {
    sent.push(entry);
    outbox.ack(entry);
  }
  return sent;
}

/** The seq each payload carries (read from the JSON, so a damaged payload fails the test). */
export const payloadSeqs = (entries: OutboxEntry[]) =>
  entries.map((e) => (JSON.parse(e.payload) as { seq: number }).seq);

/** A one-second scene window of device `dev` that ends now. */
export function scenePayload(seq: number): ScenePayload {
  return {
    label: 'park',
    confidence: 0.9,
    probs: { park: 0.9, bus: 0.1 },
    seq,
    device: 'dev',
    window: { start: new Date(Date.now() - 1000).toISOString(), end: new Date().toISOString() },
    modalities: ['audio'],
    degraded: false,
    model: { name: 'm', version: '1' },
    latencyMs: 1,
  };
}
