import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { configOptions, configOptionsHelp, loadConfigFromFlags, SERVICE_CONFIG } from '../config-flags.js';
import { configSchema } from '../../config/schema.js';

export const command: Command = {
  name: 'config',
  help: `Usage: avscene config --print [--config FILE] [--set KEY=VALUE …] [--allow-missing-bundle]
       avscene config --schema

Prints the configuration the daemon would run with: defaults, then the --config file (default ${SERVICE_CONFIG}
when it exists, as the service reads it), then AVSCENE_* environment variables, then --set flags. Secrets are masked: mqtt.password, and the passwords inside URLs and GStreamer pipelines
(mqtt.url, video.file). Exits 78 with the reason when the configuration is invalid.

Options:
      --print           print the effective configuration as JSON
      --schema          print every key with its documentation, default and environment variable
      --allow-missing-bundle
                        accept a model.bundle that does not exist yet (installers: …/bundles/current before the
                        first \`avscene bundle install\`)
${configOptionsHelp}`,
  options: {
    ...configOptions,
    print: { type: 'boolean' },
    schema: { type: 'boolean' },
    'allow-missing-bundle': { type: 'boolean' },
  },
  async run(values) {
    if (values.schema) {
      console.log(JSON.stringify(describeSchema(configSchema), null, 2));
      return 0;
    }
    if (!values.print) throw new UsageError('say what to print: avscene config --print (or --schema)');
    console.log(
      JSON.stringify(
        loadConfigFromFlags(
          values,
          {},
          { requireBundle: !values['allow-missing-bundle'], serviceDefault: true },
        ).printable(),
        null,
        2,
      ),
    );
    return 0;
  },
};

type SchemaLeaf = {
  doc: string;
  default: unknown;
  env?: string;
  format: unknown;
  sensitive?: boolean;
  min?: number;
  max?: number;
  above?: number;
};
type SchemaNode = { [key: string]: SchemaNode } | SchemaLeaf;

function describeSchema(node: SchemaNode, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (child && typeof child === 'object' && 'doc' in child) {
      const leaf = child as SchemaLeaf;
      const { doc, env, format, min, max, above } = leaf;
      out[name] = {
        doc,
        default: leaf.sensitive ? '' : leaf.default,
        env,
        allowed: Array.isArray(format)
          ? format
          : format instanceof RegExp
            ? String(format)
            : typeof format === 'function'
              ? format.name
              : format,
        ...(min === undefined ? {} : { min }),
        ...(above === undefined ? {} : { above }),
        ...(max === undefined ? {} : { max }),
      };
    } else {
      Object.assign(out, describeSchema(child as SchemaNode, name));
    }
  }
  return out;
}
