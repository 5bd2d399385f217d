/** The options shared by commands that load the daemon configuration. */
import { existsSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig, type LoadOptions } from '../config/load.js';

export const configOptions = {
  config: { type: 'string', short: 'c' },
  set: { type: 'string', multiple: true },
} satisfies NonNullable<ParseArgsConfig['options']>;

/** The configuration of a packaged install (the service's --config); commands that inspect or manage the installed
 *  daemon (config --print, bundle) read it unless --config names another. */
export const SERVICE_CONFIG = '/etc/avscene/config.json';

export const configOptionsHelp = `  -c, --config FILE     JSON configuration file (see \`avscene config --print\` for every key)
      --set KEY=VALUE   set one configuration key, e.g. --set mqtt.url=mqtt://broker:1883 (repeatable; beats the environment)`;

/** Loads the configuration from --config, the environment and --set flags plus command-specific overrides. */
export function loadConfigFromFlags(
  values: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  options: Pick<LoadOptions, 'requireBundle'> & { serviceDefault?: boolean } = {},
): LoadedConfig {
  const overrides: Record<string, unknown> = {};
  for (const assignment of (values.set as string[] | undefined) ?? []) {
    const eq = assignment.indexOf('=');
    // A ConfigError (exit 78) like every other bad setting: systemd must not restart-loop on a malformed unit.
    if (eq <= 0)
      throw new ConfigError(`--set expects KEY=VALUE, got "${assignment}" (e.g. --set mqtt.url=mqtt://broker:1883)`);
    // Values stay text: the schema's formats coerce and check them, so errors quote what was typed.
    overrides[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  const file =
    (values.config as string | undefined) ??
    (options.serviceDefault && existsSync(SERVICE_CONFIG) ? SERVICE_CONFIG : undefined);
  return loadConfig({ file, overrides: { ...overrides, ...extra }, requireBundle: options.requireBundle });
}
