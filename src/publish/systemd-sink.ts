/**
 * systemd as an output: READY=1 with the first labelled window, watchdog pings while windows flow, a STATUS= line
 * for `systemctl status`, STOPPING=1 at shutdown (src/ops/systemd-notify.ts speaks the protocol). Only built when
 * systemd started the daemon ($NOTIFY_SOCKET).
 */
import { mqttState, stateDirNote, type LiveState } from '../ops/live-state.js';
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

  publishWindow({ payload }: WindowResult): void {
    const first = this.last === null;
    this.last = payload;
    if (first) this.notifier.ready(this);
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

  flowing(withinMs: number): boolean {
    const since = this.live?.().sinceLastWindowMs ?? null;
    return since !== null && since <= withinMs;
  }

  /** e.g. `street 87% · 1234 windows, 0 dropped · MQTT connected`. */
  statusLine(): string {
    const s = this.live?.();
    if (!s || !this.last) return 'starting';
    const scene = `${this.last.label} ${Math.round(this.last.confidence * 100)}%`;
    const stalled =
      s.sinceLastWindowMs !== null && s.sinceLastWindowMs > 5000
        ? ` · no window for ${Math.round(s.sinceLastWindowMs / 1000)} s`
        : '';
    const mqtt = mqttState(s);
    const broker = mqtt.connected ? 'MQTT connected' : `MQTT unreachable, ${mqtt.queued} queued`;
    const storage = stateDirNote(s);
    return `${scene} · ${s.windows} windows, ${s.dropped} dropped${stalled} · ${broker}${storage ? ` · ${storage}` : ''}`;
  }
}
