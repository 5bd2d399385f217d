/**
 * The daemon's state as the operations endpoints see it (health, readiness, metrics, status page, systemd status): a
 * plain snapshot the daemon builds when asked, so those endpoints never hold or change the pipeline's own objects.
 */
import type { SourceCondition } from '../capture/types.js';

/** A live source that retries by itself (microphone, camera): what it is, and how it is doing. */
export interface LiveSource {
  /** e.g. `microphone plughw:1,0`, `camera v4l2 /dev/video0`. */
  noun: string;
  condition: SourceCondition;
}

export interface LiveState {
  /** Windows classified and handed to the outputs since start. */
  windows: number;
  /** Windows dropped because inference fell behind real time. */
  dropped: number;
  /** Windows skipped because their samples were not finite. */
  invalid: number;
  /** Windows classified with a modality or net missing. */
  degraded: number;
  /** Windows waiting for inference. */
  queueDepth: number;
  /** Milliseconds since the last window went through, null before the first. */
  sinceLastWindowMs: number | null;
  /** The sources and outputs are open and the pipeline runs. */
  started: boolean;
  /** Milliseconds since the pipeline started, null before. */
  sinceStartMs: number | null;
  /** null without a video source; else whether the last window came with its frame. */
  videoFrame: boolean | null;
  /** The microphone (null for a file: it delivers or ends). */
  audioSource: LiveSource | null;
  /** The camera (null without one, or for a file). */
  videoSource: LiveSource | null;
  /** Every output's own counters (`SceneSink.stats()`), e.g. mqttConnected, mqttQueued. */
  outputs: Readonly<Record<string, number>>;
}

/** Before the daemon has started: nothing counted, no window yet, no outputs. */
export function notStarted(): LiveState {
  return {
    windows: 0,
    dropped: 0,
    invalid: 0,
    degraded: 0,
    queueDepth: 0,
    sinceLastWindowMs: null,
    started: false,
    sinceStartMs: null,
    videoFrame: null,
    audioSource: null,
    videoSource: null,
    outputs: {},
  };
}

/** `up`: delivering; `down`: configured but not delivering; `none`: not configured. */
export type SourceState = 'up' | 'down' | 'none';

/** Windows further apart than this mean the pipeline stalled (they come every second). */
export const STALL_MS = 15_000;

export function sources(state: LiveState, stallMs = STALL_MS): { audio: SourceState; video: SourceState } {
  const flowing = state.sinceLastWindowMs !== null && state.sinceLastWindowMs <= stallMs;
  const cameraDown = state.videoSource?.condition.state === 'waiting';
  return {
    audio: flowing ? 'up' : 'down',
    video: state.videoFrame === null ? 'none' : state.videoFrame && flowing && !cameraDown ? 'up' : 'down',
  };
}

/** `waiting for microphone plughw:1,0, retry in 8 s (arecord exited …)`: a source that failed and is retried. */
export function waitingFor(source: LiveSource, now = Date.now()): string | null {
  const c = source.condition;
  if (c.state !== 'waiting') return null;
  const inS = Math.ceil((c.retryAt - now) / 1000);
  return `waiting for ${source.noun}, ${inS > 0 ? `retry in ${inS} s` : 'retrying now'} (${c.reason})`;
}

/**
 * Why windows that should come do not, or null: the watchdog's question. Windows are expected from the start (or from
 * when the microphone came back) on; not while the microphone is away and retried, unless a retry has not answered
 * within `withinMs` (then the capture itself is stuck).
 */
export function stuck(state: LiveState, withinMs: number, now = Date.now()): string | null {
  if (state.sinceStartMs === null) return null;
  const mic = state.audioSource;
  if (mic?.condition.state === 'waiting') {
    const overdue = now - mic.condition.retryAt;
    return overdue > withinMs
      ? `${mic.noun}: a retry has not come back for ${Math.round(overdue / 1000)} s (the capture is stuck)`
      : null;
  }
  let expectedFrom = now - (state.sinceLastWindowMs ?? state.sinceStartMs);
  if (mic) expectedFrom = Math.max(expectedFrom, mic.condition.since);
  const quiet = now - expectedFrom;
  return quiet > withinMs
    ? `no window went through the pipeline for ${Math.round(quiet / 1000)} s (capture or inference stalled)`
    : null;
}

export interface MqttState {
  connected: boolean;
  /** Windows waiting for the broker. */
  queued: number;
  /** How close the outbox is to its size or age bound: 0 empty, 1 at the bound (the oldest windows are being dropped). */
  fill: number;
  dropped: number;
  reconnects: number;
}

/** The outbox is this close to its bound: with the broker away, labels are about to be (or being) dropped. */
export const OUTBOX_FULL = 0.9;

/** The MQTT output's counters (MqttSink.stats()); a daemon without one reads as connected with an empty outbox. */
export function mqttState(state: LiveState): MqttState {
  const o = state.outputs;
  if (o.mqttConnected === undefined) return { connected: true, queued: 0, fill: 0, dropped: 0, reconnects: 0 };
  return {
    connected: o.mqttConnected === 1,
    queued: o.mqttQueued ?? 0,
    fill: o.mqttOutboxFill ?? 0,
    dropped: o.mqttDropped ?? 0,
    reconnects: o.mqttReconnects ?? 0,
  };
}

/** state.dir's write health (StateDirHealth.stats()); a daemon without it reads as writable. */
export function stateDirState(state: LiveState): { writable: boolean; failedWrites: number } {
  const o = state.outputs;
  return { writable: o.stateDirWritable !== 0, failedWrites: o.stateDirFailedWrites ?? 0 };
}

/** One phrase for status lines while state.dir refuses writes, else ''. */
export function stateDirNote(state: LiveState): string {
  const { writable, failedWrites } = stateDirState(state);
  return writable ? '' : `state.dir not writable (${failedWrites} failed writes): windows are kept in memory only`;
}

export interface Verdict {
  ok: boolean;
  /** ok, but not all of it: a source is away and retried (health), labels come from audio alone (readiness). */
  degraded?: boolean;
  /** Why not, in words for the person reading `curl` output; when ok, a short summary. */
  reason: string;
}

/** `/healthz`: the process answers and windows went through within `stallMs`. */
export function health(state: LiveState, stallMs = STALL_MS, now = Date.now()): Verdict {
  const since = state.sinceLastWindowMs;
  // A microphone that is away is retried with backoff: restarting avscene would not bring it back sooner.
  const waiting = state.audioSource && waitingFor(state.audioSource, now);
  if (waiting) {
    const stalled = stuck(state, stallMs, now);
    return stalled ? { ok: false, reason: stalled } : { ok: true, degraded: true, reason: waiting };
  }
  if (since === null)
    return {
      ok: false,
      reason: state.started ? 'no window classified yet' : 'starting: opening the sources and outputs',
    };
  if (since > stallMs) {
    return {
      ok: false,
      reason: `no window for ${Math.round(since / 1000)} s (the audio source or inference is stalled; more than ${stallMs / 1000} s is unhealthy)`,
    };
  }
  return { ok: true, reason: `last window ${(since / 1000).toFixed(1)} s ago` };
}

/** `/readyz`: the model is loaded and the sources deliver, and labels reach the broker or wait within the outbox's bounds. */
export function readiness(state: LiveState, stallMs = STALL_MS, now = Date.now()): Verdict {
  if (!state.started) return { ok: false, reason: 'starting: opening the sources and outputs' };
  const problems: string[] = [];
  const flow = health(state, stallMs, now);
  if (!flow.ok || flow.degraded) problems.push(flow.reason); // no labels while the microphone is away
  // A camera that is away or gave no frame: labels still come, from audio alone.
  let degraded: string | null = null;
  if (sources(state, stallMs).video === 'down' && flow.ok && !flow.degraded) {
    const camera = state.videoSource && waitingFor(state.videoSource, now);
    degraded = `${camera ?? 'the video source delivered no frame for the last window'}; labels come from audio alone`;
  }
  const mqtt = mqttState(state);
  const full = `${Math.round(mqtt.fill * 100)} % of its bound`;
  if (!mqtt.connected && mqtt.fill >= OUTBOX_FULL) {
    problems.push(
      `MQTT broker unreachable and the outbox is at ${full} (${mqtt.queued} windows): the oldest labels are being dropped`,
    );
  }
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  const broker = mqtt.connected
    ? 'broker connected'
    : `broker unreachable, ${mqtt.queued} windows queued (outbox at ${full})`;
  // A state.dir that refuses writes degrades durability, not labelling: ready, and the reason says so.
  const storage = stateDirNote(state);
  const note = storage ? `; degraded: ${storage}` : '';
  if (degraded) return { ok: true, degraded: true, reason: `${degraded}, ${broker}${note}` };
  return { ok: true, reason: `model loaded, sources deliver, ${broker}${note}` };
}
