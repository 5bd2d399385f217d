/** A strict reader of the Prometheus text exposition format (0.0.4), enough to check what `/metrics` serves. */
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
