/** The MQTT topic contract (documented for dashboard authors in README.md § MQTT topics; schemas in schemas/mqtt/). */
export interface Topics {
  /** Retained, QoS 1: the current state, i.e. the newest live window (JSON). Never an older window after a newer one. */
  scene: string;
  /** Not retained, QoS 1: every window in seq order, the backlog after an outage included (JSON, as scene). */
  window: string;
  /** Retained, QoS 1: the label of the newest live window as plain text, for dashboards that want a string. */
  label: string;
  /** Retained, QoS 1: `online` while the daemon runs, `offline` on clean stop and through the last will. */
  status: string;
  /** Retained, QoS 1: JSON counters every minute (windows, dropped, latency, MQTT queue). */
  health: string;
  /** Retained, QoS 1: what the device runs (software version, bundle name/version/SHA-256, last reload); at start and on every swap. */
  info: string;
}

export function topicsFor(prefix: string, deviceId: string): Topics {
  const base = `${prefix}/${deviceId}`;
  return {
    scene: `${base}/scene`,
    window: `${base}/window`,
    label: `${base}/label`,
    status: `${base}/status`,
    health: `${base}/health`,
    info: `${base}/info`,
  };
}
