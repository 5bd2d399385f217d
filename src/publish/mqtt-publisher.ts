/**
 * Publishes scene results over MQTT without ever blocking the pipeline or waiting for the broker.
 *
 * Two kinds of messages (README § MQTT topics):
 * - state, retained, latest only (`status`, `scene`, `label`, `health`, Home Assistant discovery): kept in memory and
 *   sent again on every connection, so a broker that lost them, or a dashboard that connects later, gets the current one;
 * - the `window` stream, not retained: every window in seq order through the durable Outbox, sent in order and at
 *   most a broker's receive-maximum at a time, forgotten when acknowledged.
 * Reconnection is ours, not mqtt.js': capped exponential backoff with jitter, also after a refused CONNACK (mqtt.js
 * gives up on those), and the password file is read again before each attempt.
 */
import mqtt, { type IClientPublishOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../log/logger.js';
import { Backoff } from './backoff.js';
import { clientOptions, currentPassword, type ConnectionSettings } from './mqtt-client-options.js';
import { explainConnectError, type ConnectFailure, type FailureKind } from './mqtt-errors.js';
import { maskSecrets } from '../config/secrets.js';
import type { Outbox, OutboxEntry, OutboxIo } from './outbox.js';
import { MESSAGE_SCHEMA_VERSION, windowJson, type ScenePayload } from './payload.js';
import { topicsFor, type Topics } from './topics.js';

export interface PublisherOptions extends ConnectionSettings {
  url: string;
  topicPrefix: string;
  outbox: Outbox;
  logger: Logger;
  /** Longest wait between connection attempts. */
  reconnectMaxMs?: number;
  /** MQTT 5: message expiry of `window` messages (0 = none). */
  windowExpiryS?: number;
  /** MQTT 5: message expiry of the retained `scene` and `label` (0 = none). */
  retainedExpiryS?: number;
  /** While the broker is away: one reminder with the queue size this often. */
  reminderMs?: number;
  /** A window the broker refuses (MQTT 5 reason code ≥ 0x80) is dropped after this many refusals. */
  maxRefusals?: number;
  /** First wait before a refused window is sent again (doubling, up to a minute). */
  refusalBackoffMs?: number;
}

/** What an operator (health topic, metrics sink) wants to know about delivery. */
export interface PublisherStats {
  connected: boolean;
  /** Windows not yet acknowledged by the broker (in flight or waiting). */
  queued: number;
  queuedBytes: number;
  /** Windows dropped by the outbox bounds (size, age) since start. */
  dropped: number;
  /** Windows dropped after the broker refused them `maxRefusals` times. */
  refusedDropped: number;
  /** Connections made after the first one. */
  reconnects: number;
  /** Capture time of the oldest window not yet acknowledged. */
  oldestQueued: string | null;
  outboxIo: OutboxIo;
}

interface StateMessage {
  payload: string;
  /** Called once, when the broker has acknowledged this payload. */
  onDelivered?: () => void;
}

/** A connection that lasted less than this does not reset the backoff (two clients fighting over one client id). */
const STABLE_CONNECTION_MS = 10_000;
const STREAM_INFLIGHT = 64;
/**
 * Another board with this device.id (a cloned image) takes our client id, and its last will says `offline` on our
 * status topic while we are connected, again and again: this many times within CLONE_WINDOW_MS is not a stale will
 * but a second device.
 */
const CLONE_EVENTS = 3;
const CLONE_WINDOW_MS = 5 * 60_000;
/**
 * Home Assistant asks devices to wait a random moment after its birth message before sending discovery again, so a
 * fleet does not answer at the same instant (integrations/mqtt § birth and last will messages); births within the
 * wait are answered once.
 */
export const REANNOUNCE_DELAY_MS: readonly [number, number] = [1000, 5000];

export class MqttPublisher {
  readonly topics: Topics;
  private readonly client: MqttClient;
  private readonly outbox: Outbox;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly state = new Map<string, StateMessage>();
  private readonly watchers = new Map<string, (payload: string, retained: boolean) => void>();
  private readonly tickTimer: NodeJS.Timeout;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reminderTimer: NodeJS.Timeout | null = null;
  private reannounceTimer: NodeJS.Timeout | null = null;
  /** Incremented on every close: acknowledgements from an older connection are ignored. */
  private generation = 0;
  private ready = false;
  private closing = false;
  private streamInflight = 0;
  private streamLimit = STREAM_INFLIGHT;
  private connectedAt = 0;
  private everConnected = false;
  private outageSince: number | null = Date.now();
  private readonly failuresLogged = new Set<FailureKind>();
  private lastFailure: ConnectFailure | null = null;
  private lastSceneSeq = -1;
  private reconnects = 0;
  private refusedDropped = 0;
  private refusalTimer: NodeJS.Timeout | null = null;
  /** When a connection ended early or our online was overridden: a clone of this device is suspected. */
  private takeovers: number[] = [];
  private cloneLoggedAt = -Infinity;
  /** One line per lost connection: the first failure that explains it (keep-alive timeout), not one per window. */
  private lossExplained = false;
  private readonly url: string;

  constructor(private readonly options: PublisherOptions) {
    this.topics = topicsFor(options.topicPrefix, options.deviceId);
    this.outbox = options.outbox;
    this.logger = options.logger;
    this.url = maskSecrets(options.url);
    this.backoff = new Backoff(1000, options.reconnectMaxMs ?? 30_000);
    if (options.insecure) {
      this.logger.warn(
        { url: this.url },
        'mqtt.insecure: the broker certificate is not verified; anyone on the network path can read and forge messages',
      );
    }
    this.setState(this.topics.status, 'online');
    // Our own status saying offline while we run: a stale last will (an earlier connection of this device) won a race.
    this.watch(this.topics.status, (payload, retained) => {
      if (payload !== 'offline' || this.closing || !this.ready) return;
      this.logger.info(
        { topic: this.topics.status },
        'status said offline while running (a stale last will); online re-asserted',
      );
      // A retained offline is the broker's memory of our own last connection; a live one is a will published now.
      if (!retained) this.takenOver('our status was set offline while connected');
      this.sendState(this.topics.status);
    });
    this.client = mqtt.connect(options.url, clientOptions(options, this.topics));
    this.client.on('connect', (packet) => this.onConnect(packet));
    this.client.on('close', () => this.onClose());
    this.client.on('error', (err) => this.onError(err));
    this.client.on('disconnect', (packet) => {
      if (packet.reasonCode === 0x8e) this.takenOver('the broker said: session taken over');
    });
    this.client.on('message', (topic, payload, packet) =>
      this.watchers.get(topic)?.(payload.toString(), packet.retain),
    );
    this.tickTimer = setInterval(() => this.outbox.tick(), 1000).unref();
    this.reminderTimer = setInterval(() => this.remind(), options.reminderMs ?? 5 * 60_000).unref();
  }

  get connected(): boolean {
    return this.ready;
  }

  stats(): PublisherStats {
    const oldest = this.outbox.oldestCapturedAt;
    return {
      connected: this.ready,
      queued: this.outbox.length,
      queuedBytes: this.outbox.bytes,
      dropped: this.outbox.dropped,
      refusedDropped: this.refusedDropped,
      reconnects: this.reconnects,
      oldestQueued: oldest === null ? null : new Date(oldest).toISOString(),
      outboxIo: { ...this.outbox.io },
    };
  }

  /** One window: into the `window` stream (durable), and the current state (`scene`, `label`) if it is the newest. */
  publishWindow(payload: ScenePayload): void {
    const json = windowJson(payload);
    this.outbox.push(payload.seq, this.topics.window, json, Date.parse(payload.window.start), !this.ready);
    if (payload.seq > this.lastSceneSeq) {
      this.lastSceneSeq = payload.seq;
      this.setState(this.topics.scene, json);
      this.setState(this.topics.label, payload.label);
    }
    this.pump();
  }

  publishHealth(health: Record<string, unknown>): void {
    this.setState(this.topics.health, JSON.stringify({ schemaVersion: MESSAGE_SCHEMA_VERSION, ...health }));
  }

  /** `…/info` (schemas/mqtt/info.schema.json): kept and sent again on every connection, like health. */
  publishInfo(info: Record<string, unknown>): void {
    this.setState(this.topics.info, JSON.stringify({ schemaVersion: MESSAGE_SCHEMA_VERSION, ...info }));
  }

  /**
   * Retained messages kept for this run and sent again on every connection (Home Assistant discovery; an empty payload
   * removes a retained config). `reannounceOn`: a topic whose `online` asks for them again (homeassistant/status).
   * `onDelivered` runs once the broker has acknowledged each of them.
   */
  announce(
    messages: Array<{ topic: string; payload: string }>,
    options: { reannounceOn?: string; onDelivered?: () => void } = {},
  ): void {
    let pending = messages.length;
    const delivered = () => {
      if (--pending === 0) options.onDelivered?.();
    };
    for (const message of messages) this.setState(message.topic, message.payload, delivered);
    if (messages.length === 0) options.onDelivered?.();
    if (options.reannounceOn) {
      this.watch(options.reannounceOn, (payload) => {
        if (payload !== 'online' || this.reannounceTimer) return;
        const [min, max] = REANNOUNCE_DELAY_MS;
        this.reannounceTimer = setTimeout(
          () => {
            this.reannounceTimer = null;
            this.logger.info({ topic: options.reannounceOn }, 'Home Assistant came online: discovery sent again');
            for (const message of messages) this.sendState(message.topic);
          },
          min + Math.random() * (max - min),
        );
        this.reannounceTimer.unref?.();
      });
    }
  }

  /**
   * Clean stop: sends what it can within the budget, writes what is left to the outbox for the next start, publishes
   * `offline` and disconnects.
   */
  async close(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.closing = true;
    clearInterval(this.tickTimer);
    if (this.reminderTimer) clearInterval(this.reminderTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.refusalTimer) clearTimeout(this.refusalTimer);
    if (this.reannounceTimer) clearTimeout(this.reannounceTimer);
    // The first connection still on its way (a file classified faster than the broker answered, or inputs checked
    // before it was contacted): it gets the budget too, unless an attempt has already failed.
    while (!this.everConnected && this.lastFailure === null && this.outbox.length > 0 && Date.now() < deadline - 300) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // Connected: let the queue drain while the budget lasts; what is left stays in the outbox for the next start.
    while (this.ready && this.outbox.length > 0 && Date.now() < deadline - 300)
      await new Promise((r) => setTimeout(r, 10));
    this.outbox.close();
    const queued = this.outbox.length;
    if (queued > 0) {
      const unwritten = this.outbox.unwritten;
      this.logger.warn(
        { queued, unwritten },
        `MQTT broker ${this.url} ${this.ready ? 'did not acknowledge' : 'unreachable at shutdown:'} ${queued} window(s) in time; ` +
          (unwritten === 0
            ? 'kept in the outbox and sent after the next start'
            : `${unwritten} of them could not be written (state.dir not writable) and are lost with this stop`),
      );
    }
    if (this.ready) {
      await withTimeout(
        this.client.publishAsync(this.topics.status, 'offline', { qos: 1, retain: true }),
        Math.max(50, deadline - Date.now()),
      );
    }
    // mqtt.js ends gracefully only once every message it sent is acknowledged; after a reconnection it may hold some
    // that never will be (sent on a connection that died). What matters is acknowledged or in the outbox by now.
    for (const id of Object.keys(this.client.outgoing)) this.client.removeOutgoingMessage(Number(id));
    const ended = await withTimeout(
      this.client.endAsync(!this.ready).then(() => true),
      Math.max(100, deadline - Date.now()),
    );
    // A DISCONNECT the link never carried: drop the socket, or it keeps the process alive past SIGTERM.
    if (!ended) this.client.stream?.destroy();
  }

  private setState(topic: string, payload: string, onDelivered?: () => void): void {
    this.state.set(topic, { payload, onDelivered });
    if (this.ready) this.sendState(topic);
  }

  private sendState(topic: string): void {
    const message = this.state.get(topic);
    if (!message || !this.ready) return;
    this.client.publish(topic, message.payload, { qos: 1, retain: true, ...this.stateExpiry(topic) }, (err) => {
      if (err || this.state.get(topic) !== message || !message.onDelivered) return;
      const delivered = message.onDelivered;
      message.onDelivered = undefined;
      delivered();
    });
  }

  /** Sends queued windows in order while the broker has room for them. */
  private pump(): void {
    while (this.ready && this.streamInflight < this.streamLimit) {
      const entry = this.outbox.takeNext();
      if (!entry) return;
      const generation = this.generation;
      this.streamInflight++;
      this.client.publish(entry.topic, entry.payload, this.windowOptions(), (err) => {
        if (generation !== this.generation) return; // that connection is gone; requeueSent() took the window back
        const code = (err as { code?: unknown } | undefined)?.code;
        // 'Connection closed' for every window in flight when the link dies (keep-alive timeout): the close that
        // follows requeues them all, and the one line about the lost connection says why.
        if (err && !(typeof code === 'number' && code >= 0x80)) return;
        this.streamInflight--;
        if (err) this.refused(entry, code as number, err.message);
        else this.outbox.ack(entry);
        this.pump();
      });
    }
  }

  /** An MQTT 5 broker refused a window (not authorized, quota exceeded): again later, dropped after maxRefusals. */
  private refused(entry: OutboxEntry, code: number, reason: string): void {
    const max = this.options.maxRefusals ?? 5;
    if (entry.refusals + 1 >= max) {
      this.outbox.discard(entry);
      this.refusedDropped++;
      this.logger.error(
        {
          seq: entry.seq,
          reasonCode: `0x${code.toString(16)}`,
          reason,
          refusals: max,
          refusedDropped: this.refusedDropped,
        },
        `MQTT broker refused window seq ${entry.seq} ${max} times (${reason}): dropped, counted in mqttRefusedDropped; check the broker's ACL and quotas for ${entry.topic}`,
      );
      return;
    }
    const delay = Math.min(60_000, (this.options.refusalBackoffMs ?? 1000) * 2 ** entry.refusals);
    this.outbox.refused(entry, delay);
    if (entry.refusals === 1) {
      this.logger.warn(
        { seq: entry.seq, reasonCode: `0x${code.toString(16)}`, reason },
        `MQTT broker refused window seq ${entry.seq} (${reason}): sent again with backoff, dropped after ${max} refusals`,
      );
    }
    if (!this.refusalTimer) {
      this.refusalTimer = setTimeout(() => {
        this.refusalTimer = null;
        this.pump();
      }, delay + 5);
      this.refusalTimer.unref?.();
    }
  }

  /** The client id or our online was taken over; repeatedly, that is a second board with this device.id. */
  private takenOver(what: string): void {
    const now = performance.now();
    this.takeovers = [...this.takeovers.filter((t) => now - t < CLONE_WINDOW_MS), now];
    if (this.takeovers.length < CLONE_EVENTS || now - this.cloneLoggedAt < CLONE_WINDOW_MS) return;
    this.cloneLoggedAt = now;
    this.logger.error(
      { device: this.options.deviceId, events: this.takeovers.length, last: what, url: this.url },
      `another client with device.id "${this.options.deviceId}" is on broker ${this.url} (a cloned SD card image?): ` +
        `${this.takeovers.length} connection or status take-overs within ${CLONE_WINDOW_MS / 60_000} min. ` +
        'Give each board its own device.id (and remove the copied state.dir); until then both lose messages',
    );
  }

  /** The current scene expires (when asked): a device that vanished without its last will stops showing a label. */
  private stateExpiry(topic: string): IClientPublishOptions {
    const expiry = this.options.retainedExpiryS ?? 0;
    return this.options.protocolVersion === '5' &&
      expiry > 0 &&
      (topic === this.topics.scene || topic === this.topics.label)
      ? { properties: { messageExpiryInterval: expiry } }
      : {};
  }

  private windowOptions(): IClientPublishOptions {
    const expiry = this.options.windowExpiryS ?? 0;
    return {
      qos: 1,
      retain: false,
      ...(this.options.protocolVersion === '5' && expiry > 0 ? { properties: { messageExpiryInterval: expiry } } : {}),
    };
  }

  private watch(topic: string, handler: (payload: string, retained: boolean) => void): void {
    this.watchers.set(topic, handler);
    if (this.ready) this.client.subscribe(topic, { qos: 1 });
  }

  private onConnect(packet: IConnackPacket): void {
    this.ready = true;
    this.connectedAt = Date.now();
    if (this.everConnected) this.reconnects++;
    const queued = this.outbox.length;
    if (this.outageSince !== null && this.failuresLogged.size > 0) {
      this.logger.info(
        {
          url: this.url,
          outageS: Math.round((Date.now() - this.outageSince) / 1000),
          queued,
          dropped: this.outbox.dropped,
        },
        `MQTT broker ${this.url} is back: sending ${queued} queued window(s) in order`,
      );
    } else {
      this.logger.info({ url: this.url, queued }, this.everConnected ? 'MQTT reconnected' : 'MQTT connected');
    }
    this.everConnected = true;
    this.lossExplained = false;
    this.outageSince = null;
    this.failuresLogged.clear();
    this.lastFailure = null;
    // A broker's receive maximum (MQTT 5) bounds all our unacknowledged QoS 1 messages; leave room for the state.
    const receiveMaximum = packet.properties?.receiveMaximum;
    this.streamLimit = receiveMaximum
      ? Math.max(1, Math.min(STREAM_INFLIGHT, receiveMaximum - this.state.size - 4))
      : STREAM_INFLIGHT;
    for (const topic of this.state.keys()) this.sendState(topic);
    if (this.watchers.size > 0) this.client.subscribe([...this.watchers.keys()], { qos: 1 });
    this.pump();
  }

  private onClose(): void {
    const wasReady = this.ready;
    this.ready = false;
    this.generation++;
    this.streamInflight = 0;
    this.outbox.requeueSent();
    if (this.closing) return;
    if (wasReady) {
      this.outageSince = Date.now();
      if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.backoff.reset();
      this.failuresLogged.add('network');
      if (!this.lossExplained) {
        this.logger.warn(
          { url: this.url, queued: this.outbox.length },
          `MQTT connection to ${this.url} lost: windows are kept in the outbox and sent in order when it is back; reconnecting with backoff`,
        );
      }
      this.lossExplained = false;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closing) return;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closing) return;
      try {
        this.client.options.password = currentPassword(this.options);
      } catch (err) {
        this.logger.warn(
          { file: this.options.passwordFile, err: (err as Error).message },
          'cannot read mqtt.passwordFile; trying with the previous password',
        );
      }
      this.client.reconnect();
    }, delay);
    this.reconnectTimer.unref?.();
  }

  private onError(err: Error & { code?: string | number }): void {
    if (this.closing) {
      this.logger.debug({ err: err.message }, 'MQTT error while disconnecting'); // e.g. a write racing the DISCONNECT
      return;
    }
    if (err.message === 'Keepalive timeout') {
      // The link died without a FIN (a half-open link: cable, Wi-Fi, NAT): one line, not one per window in flight.
      this.lossExplained = true;
      this.logger.warn(
        { url: this.url, keepaliveS: this.options.keepaliveS ?? 60, queued: this.outbox.length },
        `MQTT broker ${this.url} stopped answering (keep-alive timeout: the link is half-open or the broker hangs): windows are kept in the outbox and sent in order when it is back; reconnecting with backoff`,
      );
      return;
    }
    const failure = explainConnectError(err);
    this.lastFailure = failure;
    // Once per kind of failure and outage: a broker that stays away is a reminder every few minutes, not a line per attempt.
    if (this.failuresLogged.has(failure.kind)) {
      this.logger.debug({ url: this.url, err: err.message }, 'MQTT connection attempt failed again');
      return;
    }
    this.failuresLogged.add(failure.kind);
    const retry = `retrying with backoff up to ${Math.round((this.options.reconnectMaxMs ?? 30_000) / 1000)} s`;
    const fields = { url: this.url, err: err.message, queued: this.outbox.length };
    if (failure.kind === 'network') {
      this.logger.warn(
        fields,
        `MQTT broker ${this.url} unreachable: ${failure.explanation}. Windows are kept in the outbox and sent in order when it is back; ${retry}`,
      );
    } else {
      this.logger.error(
        fields,
        `MQTT broker ${this.url}: ${failure.explanation}. Windows are kept in the outbox; ${retry}, so a fix on the broker is picked up without a restart`,
      );
    }
  }

  private remind(): void {
    if (this.ready || this.closing || this.outageSince === null) return;
    const minutes = Math.round((Date.now() - this.outageSince) / 60_000);
    const stats = this.stats();
    this.logger.warn(
      {
        url: this.url,
        minutes,
        queued: stats.queued,
        queuedMB: +(stats.queuedBytes / 2 ** 20).toFixed(2),
        oldest: stats.oldestQueued,
        dropped: stats.dropped,
      },
      `MQTT broker ${this.url} still unreachable after ${minutes} min (${this.lastFailure?.explanation ?? 'no answer'}): ${stats.queued} window(s) queued, ${stats.dropped} dropped`,
    );
  }
}

/** Resolves to the promise's value, or undefined once `ms` have passed. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
