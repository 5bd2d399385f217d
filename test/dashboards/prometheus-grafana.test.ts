/**
 * Grafana on Prometheus as a dashboard author sets it up, with the real tools: the daemon (demo clip in real time, a real
 * mosquitto) serves /metrics; `promtool check metrics` on it; the shipped alert rules through `promtool check rules` and
 * their unit tests (`promtool test rules`); a real Prometheus (Debian package) scraping the daemon through the shipped
 * scrape config and its file_sd target list; and every query of the shipped Grafana dashboard run against that
 * Prometheus. Grafana itself is not installable here (it is in neither the Debian nor the npm registry), so the
 * dashboard is checked structurally: each panel's PromQL parses and returns data for the running device.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Collector } from '../helpers/mqtt-collector.js';
import { daemonArgs, killAll, startCli, type RunningCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/media.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { promtool, startPrometheus, type PrometheusServer } from '../helpers/prometheus.js';
import { poll } from '../helpers/wait.js';

const DEVICE = 'grafana-e2e';
const PROMETHEUS_DIR = path.join(REPO_ROOT, 'deploy', 'prometheus');
const DASHBOARD = path.join(REPO_ROOT, 'deploy', 'grafana', 'avscene.json');

let broker: Mosquitto;
let daemon: RunningCli;
let base: string;
let scenes: Collector;
let prometheus: PrometheusServer | undefined;
before(async () => {
  broker = await startMosquitto();
  scenes = await Collector.subscribe(broker.url, `avscene/${DEVICE}/scene`);
  daemon = startCli(daemonArgs(broker.url, DEVICE, 'audio.loop=true', 'http.listen=127.0.0.1:0'));
  const line = await daemon.untilLog(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('status page and metrics on'),
    60_000,
    'the HTTP endpoint',
  );
  base = (line as { url: string }).url;
  await scenes.until((m) => m.length >= 2, 60_000, 'two windows');
});
after(async () => {
  await prometheus?.stop();
  killAll();
  await Collector.closeAll();
  await broker.stop();
});

/** The shipped file with the lines a test must change replaced; fails if one is no longer there (the file changed). */
function adapted(file: string, replacements: Array<[string, string]>): string {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of replacements) {
    assert.ok(text.includes(from), `${file} no longer has ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  return text;
}

test('promtool check metrics passes on the live /metrics, scene metrics included', async () => {
  const body = await (await fetch(`${base}/metrics`)).text();
  for (const name of ['avscene_scene_probability', 'avscene_scene_confidence_ratio', 'avscene_scene_label']) {
    assert.match(body, new RegExp(`^${name}[{ ]`, 'm'), name);
  }
  const { status, output } = promtool(['check', 'metrics'], body);
  assert.equal(output.trim(), '', 'no lint findings');
  assert.equal(status, 0);
});

test('the alert rules pass promtool check rules and their unit tests', () => {
  const check = promtool(['check', 'rules', path.join(PROMETHEUS_DIR, 'avscene-rules.yml')]);
  assert.equal(check.status, 0, check.output);
  assert.match(check.output, /SUCCESS: 5 rules found/);
  const unit = promtool(['test', 'rules', path.join(PROMETHEUS_DIR, 'avscene-rules.test.yml')]);
  assert.equal(unit.status, 0, unit.output);
});

test('a real Prometheus scrapes the daemon through the shipped config; the top class is the published label, and every dashboard query returns data', async () => {
  const dir = tempDir('avscene-prometheus-');
  const targets = path.join(dir, 'targets');
  mkdirSync(targets);
  writeFileSync(
    path.join(targets, 'test.json'),
    JSON.stringify([{ targets: [new URL(base).host], labels: { site: 'test' } }]),
  );
  writeFileSync(path.join(dir, 'avscene-rules.yml'), readFileSync(path.join(PROMETHEUS_DIR, 'avscene-rules.yml')));
  const config = adapted(path.join(PROMETHEUS_DIR, 'prometheus.yml'), [
    ['scrape_interval: 15s', 'scrape_interval: 1s'],
    ['evaluation_interval: 15s', 'evaluation_interval: 1s'],
    ['/etc/prometheus/avscene-rules.yml', path.join(dir, 'avscene-rules.yml')],
    ['/etc/prometheus/avscene-targets/*.json', path.join(targets, '*.json')],
  ]);
  writeFileSync(path.join(dir, 'check.yml'), config);
  const checked = promtool(['check', 'config', path.join(dir, 'check.yml')]);
  assert.equal(checked.status, 0, checked.output);
  prometheus = await startPrometheus(dir, config);
  const server = prometheus;

  // The device shows up with its device.id, from the file_sd target list.
  const [info] = await poll(
    () => server.query('avscene_build_info'),
    (r) => r.length > 0,
    30_000,
    'the first scrape',
    { everyMs: 200 },
  );
  assert.equal(info!.metric.device, DEVICE);
  assert.equal(info!.metric.site, 'test', 'the file_sd target labels');
  assert.equal(info!.metric.job, 'avscene');

  // The label Prometheus holds is one the device published, with the very probability the message carried.
  const published = () =>
    scenes.messages.map((m) => JSON.parse(m.payload) as { label: string; probs: Record<string, number> });
  const [top] = await server.query('topk(1, avscene_scene_probability)');
  const [label] = await server.query('avscene_scene_label == 1');
  assert.ok(top && label, 'the scene is in Prometheus');
  assert.equal(label!.metric.class, top!.metric.class, 'the state set names the most probable class');
  const value = Number(top!.value[1]);
  assert.ok(
    published().some((s) => s.label === top!.metric.class && s.probs[s.label] === value),
    `a published window with label ${top!.metric.class} at ${value}; got ${JSON.stringify(published().map((s) => [s.label, s.probs[s.label]]))}`,
  );

  // Every panel's queries, with the dashboard's variables as Grafana would fill them for this device.
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Array<{ type: string; title: string; repeat?: string; targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ name: string; query: string | { query: string } }> };
  };
  const variable = dashboard.templating.list.find((v) => v.name === 'device')!;
  const devices = await server.query(
    (typeof variable.query === 'string' ? variable.query : variable.query.query).replace(
      /^label_values\((\w+), (\w+)\)$/,
      'group by ($2) ($1)',
    ),
  );
  assert.deepEqual(
    devices.map((d) => d.metric.device),
    [DEVICE],
    'the device variable lists the device',
  );
  assert.equal(dashboard.panels[0]!.repeat, 'device', 'one row per device');
  const fill = (expr: string) => expr.replaceAll('$device', DEVICE).replaceAll('$__rate_interval', '30s');
  const queries = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: fill(t.expr) })),
  );
  assert.ok(queries.length >= 14, `${queries.length} queries`);
  // rate() needs two scrapes within its range.
  await poll(
    () => server.query('count_over_time(avscene_windows_total[30s])'),
    (r) => Number(r[0]?.value[1]) >= 3,
    30_000,
    'three scrapes',
    { everyMs: 200 },
  );
  for (const { panel, expr } of queries) {
    const result = await server.query(expr);
    assert.ok(result.length > 0, `panel "${panel}": ${expr} returned no data`);
    for (const series of result)
      assert.ok(Number.isFinite(Number(series.value[1])), `panel "${panel}": ${expr} gave ${series.value[1]}`);
  }

  // The rules loaded, and a healthy device raises none of them.
  type Rule = { name: string; health: string; state: string };
  const loaded = await poll(
    async () =>
      (
        (await (await fetch(`${server.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Rule[] }> } }
      ).data.groups.flatMap((g) => g.rules),
    (r) => r.length === 5 && r.every((x) => x.health !== 'unknown'),
    30_000,
    'the 5 alert rules evaluated',
    { everyMs: 200, explain: (r) => JSON.stringify(r) },
  );
  for (const rule of loaded) {
    assert.equal(rule.health, 'ok', rule.name);
    assert.equal(rule.state, 'inactive', rule.name);
  }
});
