/**
 * `avscene bundle status`: what `current` names, what the daemons running from the store label with (their store
 * records), and how fresh the current label is (the HTTP endpoint's /status.json, when it is on). `--inventory`
 * prints the same as Mender inventory attributes (name=value lines), for /usr/share/mender/inventory/.
 */
import { liveDaemons, type DaemonRecord } from './daemon-record.js';
import { type BundleStore, type ListedBundle, signatureText } from './store.js';
import type { AvsceneConfig } from '../config/load.js';
import { parseListen } from '../http/server.js';
import { packageVersion } from '../util/package-info.js';

const HTTP_TIMEOUT_MS = 2000;

interface Label {
  label: string;
  seq: number;
  /** Seconds since the daemon labelled its last window. */
  ageS: number | null;
}

export interface BundleStatus {
  version: string;
  device: string;
  current: ListedBundle | null;
  daemons: DaemonRecord[];
  /** null: the HTTP endpoint is off or did not answer (see `labelProblem`). */
  label: Label | null;
  labelProblem?: string;
}

export async function bundleStatus(store: BundleStore, config: AvsceneConfig): Promise<BundleStatus> {
  const current = (await store.list(config.model.publicKey || undefined)).find((b) => b.active) ?? null;
  const daemons = await liveDaemons(store.root);
  const base = { version: packageVersion(), device: config.device.id, current, daemons };
  if (!config.http.listen) return { ...base, label: null, labelProblem: 'http.listen is off' };
  try {
    return { ...base, label: await currentLabel(config.http.listen) };
  } catch (err) {
    return { ...base, label: null, labelProblem: `${statusUrl(config.http.listen)}: ${(err as Error).message}` };
  }
}

function statusUrl(listen: string): string {
  const { host, port } = parseListen(listen);
  // A wildcard listen address is reached on loopback.
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${reach}:${port}/status.json`;
}

async function currentLabel(listen: string): Promise<Label | null> {
  const res = await fetch(statusUrl(listen), { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const doc = (await res.json()) as {
    current: { label: string; seq: number } | null;
    sinceLastWindowMs: number | null;
  };
  if (!doc.current) return null;
  const ageS = doc.sinceLastWindowMs === null ? null : Math.round(doc.sinceLastWindowMs / 100) / 10;
  return { label: doc.current.label, seq: doc.current.seq, ageS };
}

/** Human-readable lines. */
export function formatStatus(s: BundleStatus, storeRoot: string): string[] {
  const lines: string[] = [];
  const c = s.current;
  lines.push(
    c?.manifest
      ? `current  ${c.dir}: ${c.manifest.name} ${c.manifest.version}, sha256 ${c.sha256!.slice(0, 12)}, ${signatureText(c.signature)}`
      : `current  none in ${storeRoot}${c ? ` (${c.dir}: ${c.problem})` : ''}`,
  );
  if (s.daemons.length === 0) lines.push('running  no daemon runs from this store');
  for (const d of s.daemons) {
    const reload = d.lastReload
      ? `; last reload ${d.lastReload.at} ${d.lastReload.ok ? 'ok' : `refused: ${d.lastReload.error}`}`
      : '';
    lines.push(
      `running  pid ${d.pid}: ${d.bundle.name} ${d.bundle.version}, sha256 ${d.bundle.sha256.slice(0, 12)}, since ${d.since}${reload}`,
    );
  }
  lines.push(
    s.label
      ? `label    ${s.label.label} (seq ${s.label.seq}), ${s.label.ageS === null ? 'no window yet' : `${s.label.ageS} s ago`}`
      : `label    unknown (${s.labelProblem ?? 'no window labelled yet'})`,
  );
  return lines;
}

/**
 * Mender inventory attributes: what the device runs, so that the Mender UI can group and filter devices by bundle
 * (e.g. avscene_bundle_version) and spot stale labels. The bundle is the one a daemon labels with, else `current`.
 */
export function inventoryLines(s: BundleStatus): string[] {
  const running = s.daemons[0];
  const bundle = running
    ? running.bundle
    : s.current?.manifest
      ? { ...s.current.manifest, sha256: s.current.sha256!, signed: s.current.signature === 'verified' }
      : null;
  const attributes: Array<[string, string | number | null | undefined]> = [
    ['avscene_version', s.version],
    ['avscene_device_id', s.device],
    ['avscene_bundle_name', bundle?.name],
    ['avscene_bundle_version', bundle?.version],
    ['avscene_bundle_sha256', bundle?.sha256],
    ['avscene_bundle_signed', bundle ? (bundle.signed ? 'yes' : 'no') : undefined],
    ['avscene_running', running ? 'yes' : 'no'],
    ['avscene_last_reload', running?.lastReload ? (running.lastReload.ok ? 'ok' : 'refused') : undefined],
    ['avscene_label', s.label?.label],
    ['avscene_label_age_s', s.label?.ageS],
  ];
  return attributes
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${String(value).replace(/[\r\n]/g, ' ')}`);
}
