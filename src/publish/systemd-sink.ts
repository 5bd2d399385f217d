/**
 * systemd as an output: READY=1 once the daemon runs (bundle loaded, outputs started, sources set up), watchdog pings
 * unless the pipeline is stuck, a STATUS= line for `systemctl status` (what a missing microphone waits for, too),
 * RELOADING=1 … READY=1 around a reload, STOPPING=1 at shutdown (src/ops/systemd-notify.ts speaks the protocol). Only
 * built when systemd started the daemon ($NOTIFY_SOCKET).
 */
import { mqttState, STALL_MS, stateDirNote, stuck, waitingFor, type LiveState } from '../ops/live-state.js';
import type { NotifyState, SystemdNotifier } from '../ops/systemd-notify.js';
import type { ScenePayload } from './payload.js';
import type { HealthSnapshot, RunningModel, SceneSink, WindowResult } from './sink.js';

export class SystemdSink implements SceneSink, NotifyState {
  readonly description = 'systemd notify (readiness, watchdog, status)';
  private live: (() => LiveState) | null = null;
  private last: ScenePayload | null = null;

  constructor(private readonly notifier: SystemdNotifier) {}

  async start(_signal: AbortSignal, live: () => LiveState): Promise<void> {
    this.live = live;
  }

  running(): void {
    this.notifier.ready(this);
  }

  reloading(done: Promise<void>): void {
    this.notifier.reloading(this, done);
  }

  publishWindow({ payload }: WindowResult): void {
    this.last = payload;
  }

  publishHealth(_snapshot: HealthSnapshot): void {}

  modelChanged(_model: RunningModel): void {}

  stats(): Record<string, number> {
    return {};
  }

  async close(): Promise<void> {
    this.notifier.stopping();
    this.notifier.close();
  }

  /**
   * Stuck is what /healthz calls stalled (no window for 15 s, STALL_MS), however short the watchdog: one slow window
   * on a loaded machine is not a stuck pipeline, and the pings must not stop for it.
   */
  stuck(withinMs: number): string | null {
    const s = this.live?.();
    return s ? stuck(s, Math.max(withinMs, STALL_MS)) : null;
  }

  /**
   * e.g. `street 87% · 1234 windows, 0 dropped · MQTT connected`, or
   * `waiting for microphone plughw:1,0, retry in 8 s (arecord exited with code 1: …) · 0 windows · MQTT connected`.
   */
  statusLine(): string {
    const s = this.live?.();
    if (!s?.started) return 'starting';
    const mqtt = mqttState(s);
    const broker = mqtt.connected ? 'MQTT connected' : `MQTT unreachable, ${mqtt.queued} queued`;
    const counts = `${s.windows} windows, ${s.dropped} dropped`;
    const mic = s.audioSource && waitingFor(s.audioSource);
    if (mic) return `${mic} · ${counts} · ${broker}`;
    if (!this.last) return `running, first window coming · ${broker}`;
    const scene = `${this.last.label} ${Math.round(this.last.confidence * 100)}%`;
    const stalled =
      s.sinceLastWindowMs !== null && s.sinceLastWindowMs > 5000
        ? ` · no window for ${Math.round(s.sinceLastWindowMs / 1000)} s`
        : '';
    const camera = s.videoSource && waitingFor(s.videoSource);
    const storage = stateDirNote(s);
    return `${scene} · ${counts}${stalled}${camera ? ` · ${camera}` : ''} · ${broker}${storage ? ` · ${storage}` : ''}`;
  }
}
