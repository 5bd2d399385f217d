/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to check what `/metrics` serves; promtool
 * and a real Prometheus server (Debian package prometheus) for what dashboards and alerts make of it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './mosquitto.js';
import { poll } from './wait.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Record<string, string>;
  samples: Sample[];
  /** The value of the one sample `name` with exactly these labels (undefined when absent). */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

export function parsePrometheus(text: string): Exposition {
  const types: Record<string, string> = {};
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '' || line.startsWith('# HELP ')) return;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types[type[1]!] = type[2]!;
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL.exec(m[2]); l; l = LABEL.exec(m[2])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = LABEL.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`line ${i + 1} has malformed labels: ${JSON.stringify(line)}`);
    }
    // Values are Go floats: NaN and ±Inf in any case (prom-client writes "Nan" for a mean over nothing).
    const special = /^([+-]?)(inf|nan)$/i.exec(m[3]!);
    const value = special
      ? special[2]!.toLowerCase() === 'nan'
        ? NaN
        : special[1] === '-'
          ? -Infinity
          : Infinity
      : Number(m[3]);
    if (Number.isNaN(value) && !special) throw new Error(`line ${i + 1} has a bad value: ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  });
  return {
    types,
    samples,
    value(name, labels = {}) {
      const want = JSON.stringify(Object.entries(labels).sort());
      return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
    },
  };
}

/** `promtool <args>` (Debian prometheus, installed by `make setup-test`), with `input` on stdin. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error)
    throw new Error(`promtool (Debian package prometheus, installed by make setup-test): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface PrometheusServer {
  url: string;
  /** An instant query through the HTTP API; throws with Prometheus' error when the query does not parse or fails. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus (Debian package) on a free loopback port with `config` (YAML text) as prometheus.yml in `dir`, its
 * own TSDB there too; resolves once it is ready (/-/ready).
 */
export async function startPrometheus(dir: string, config: string): Promise<PrometheusServer> {
  const port = await freePort();
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  await poll(
    async () =>
      exited
        ? 'exited'
        : await fetch(`${url}/-/ready`).then(
            (r) => r.status,
            () => 0,
          ),
    (s) => s === 200,
    30_000,
    'Prometheus to be ready',
    {
      everyMs: 100,
      givesUp: (s) => (s === 'exited' ? `prometheus exited: ${log}` : null),
      explain: () => log.slice(-2000),
    },
  );
  return {
    url,
    async query(promql) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await r.json()) as { status: string; error?: string; data?: { result: [] } };
      if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${body.error}`);
      return body.data!.result;
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
