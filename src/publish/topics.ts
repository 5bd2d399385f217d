/** The MQTT topic contract (documented for dashboard authors in README.md § MQTT topics). */
export interface Topics {
  /** Retained, QoS 1: one JSON message per 1-s window (the last one stays for late subscribers). */
  scene: string;
  /** Retained, QoS 1: the label alone as plain text, for dashboards that want a string. */
  label: string;
  /** Retained, QoS 1: `online` while the daemon runs, `offline` on clean stop and through the last will. */
  status: string;
  /** Retained, QoS 1: JSON counters every minute (windows, dropped, latency, queue). */
  health: string;
}

export function topicsFor(prefix: string, deviceId: string): Topics {
  const base = `${prefix}/${deviceId}`;
  return { scene: `${base}/scene`, label: `${base}/label`, status: `${base}/status`, health: `${base}/health` };
}
