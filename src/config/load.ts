/**
 * Loads the effective configuration: schema defaults < `--config FILE` (JSON) < AVSCENE_* env < CLI flags.
 * Any problem becomes a ConfigError whose message names the key, the bad value and what is allowed (exit 78, EX_CONFIG).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import convict from 'convict';
import { configSchema } from './schema.js';
import { registerStrictFormats } from './formats.js';
import { maskSecrets, maskSecretsDeep, rememberSecret, rememberSecretsIn } from './secrets.js';
import { streamTargetProblem } from '../capture/stream-target.js';
import { pseudoFileSystemOf } from './pseudo-fs.js';
import { EX_CONFIG } from '../util/exit-codes.js';

registerStrictFormats();

export type AvsceneConfig = ReturnType<ReturnType<typeof buildConfig>['getProperties']>;

export class ConfigError extends Error {
  readonly exitCode = EX_CONFIG;
  constructor(message: string) {
    super(maskSecrets(message)); // messages quote the values they reject, stream URLs with passwords included
    this.name = 'ConfigError';
  }
}

function buildConfig() {
  return convict(configSchema);
}

export interface LoadOptions {
  /** Path of a JSON config file. */
  file?: string;
  /** Dotted keys set by CLI flags, e.g. { 'audio.file': 'x.wav' }; they beat the environment. */
  overrides?: Record<string, unknown>;
  /** False for commands that manage bundles: model.bundle (e.g. …/bundles/current) may not exist yet. */
  requireBundle?: boolean;
}

export interface LoadedConfig {
  config: AvsceneConfig;
  /** The effective configuration as JSON with secrets (sensitive keys, URL and pipeline passwords) masked, for
   *  `avscene config --print` and the start-up log. */
  printable(): Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const conf = buildConfig();
  try {
    if (options.file) conf.load(readConfigFile(options.file));
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
      if (value !== undefined) conf.set(key as never, value as never);
    }
    for (const key of sensitiveKeys(configSchema)) rememberSecret(String(conf.get(key as never) ?? ''));
    // Before validation: the errors quote the values they reject, and a URL that fails to parse still has a password.
    rememberSecretsInValues(conf.getProperties());
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(explainConvictError((err as Error).message, options.file));
  }
  const config = conf.getProperties();
  checkSemantics(config, options.requireBundle ?? true);
  // convict masks the keys marked sensitive; passwords inside URLs and pipelines can be in any key.
  return { config, printable: () => maskSecretsDeep(JSON.parse(conf.toString()) as Record<string, unknown>) };
}

function rememberSecretsInValues(value: unknown): void {
  if (typeof value === 'string') rememberSecretsIn(value);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) rememberSecretsInValues(v);
}

/** Dotted names of the schema keys marked `sensitive` (their values are masked in every printout, not only in theirs). */
function sensitiveKeys(node: object, prefix = ''): string[] {
  return Object.entries(node).flatMap(([key, child]: [string, unknown]) => {
    if (child === null || typeof child !== 'object') return [];
    const name = prefix ? `${prefix}.${key}` : key;
    if ('doc' in child) return (child as { sensitive?: boolean }).sensitive ? [name] : [];
    return sensitiveKeys(child, name);
  });
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${unreadableFile(err as NodeJS.ErrnoException)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object such as {"device": {"id": "kitchen"}}`);
  }
  return parsed;
}

/** Why a config file could not be read, in words, with the fix (no raw errno text). */
function unreadableFile(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'not found (pass an existing JSON file with --config)';
    case 'EACCES':
    case 'EPERM':
      return `cannot be read by user ${os.userInfo().username} (permission denied): run as root or as a user that may read it (e.g. sudo avscene …), or pass another file with --config`;
    case 'EISDIR':
      return 'is a directory; pass the JSON file itself with --config';
    default:
      return `cannot be read (${err.code ?? err.message}); pass a readable JSON file with --config`;
  }
}

/** convict reports one problem per line; make each line say where it came from and how to fix it. */
function explainConvictError(message: string, file?: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const undeclared = /configuration param '([^']+)' not declared in the schema/.exec(line);
      if (undeclared)
        return `unknown config key "${undeclared[1]}" (see \`avscene config --print\` for the keys that exist)`;
      // Our formats name the value themselves (also 0, false and "", which convict leaves out); convict repeats it.
      return line.replace(/(: value was (.+)): value was \2$/, '$1');
    });
  const where = file ? ` (config file ${file}, AVSCENE_* environment variables and flags)` : '';
  return `invalid configuration${where}:\n  ${lines.join('\n  ')}`;
}

/** Checks that need more than one key or the file system. */
function checkSemantics(config: AvsceneConfig, requireBundle: boolean): void {
  const problems: string[] = [];
  if (config.audio.source === 'file') requireFile(problems, 'audio.file', config.audio.file, 'a WAV file');
  if (config.video.source === 'file') requireFile(problems, 'video.file', config.video.file, 'a video file');
  if (config.video.source === 'url' || config.video.source === 'v4l2') {
    const problem = streamTargetProblem(
      config.video.source,
      config.video.source === 'url' ? config.video.file : config.video.device,
    );
    if (problem !== null) problems.push(problem);
  }
  if (!config.mqtt.url && config.mqtt.protocolVersion === '5')
    problems.push(
      'mqtt.protocolVersion: "5" needs an external broker: the embedded broker (mqtt.url empty) speaks MQTT 3.1.1 only; set mqtt.url to an MQTT 5 broker (e.g. mosquitto) or mqtt.protocolVersion to "3.1.1"',
    );
  const pseudo = pseudoFileSystemOf(config.state.dir);
  if (pseudo !== null)
    problems.push(
      `state.dir: "${config.state.dir}" lies on ${pseudo}, a kernel pseudo file system that cannot hold files; use a directory on a disk such as /var/lib/avscene`,
    );
  checkMqttSecurity(problems, config);
  // A bundle store's `current` link may be missing or dangling: the daemon then starts on the newest installed bundle
  // that loads (daemon/factory.ts), as long as the store is there.
  const inStore = path.basename(config.model.bundle) === 'current' && existsSync(path.dirname(config.model.bundle));
  if (requireBundle && !inStore && (!existsSync(config.model.bundle) || !statSync(config.model.bundle).isDirectory())) {
    problems.push(
      `model.bundle: "${config.model.bundle}" is not a directory; point it at a bundle exported by the toolkit (bundle.json + ONNX files)`,
    );
  }
  if (config.model.publicKey)
    requireFile(
      problems,
      'model.publicKey',
      config.model.publicKey,
      'the Ed25519 public key (PEM) bundles are signed with',
    );
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
}

function checkMqttSecurity(problems: string[], config: AvsceneConfig): void {
  const { mqtt } = config;
  const files = [
    ['mqtt.ca', mqtt.ca, 'a PEM CA file'],
    ['mqtt.cert', mqtt.cert, 'a PEM client certificate'],
    ['mqtt.key', mqtt.key, 'a PEM private key'],
    ['mqtt.passwordFile', mqtt.passwordFile, 'a file holding the password'],
  ] as const;
  for (const [key, value, what] of files) if (value) requireFile(problems, key, value, what);
  if (Boolean(mqtt.cert) !== Boolean(mqtt.key))
    problems.push('mqtt.cert and mqtt.key go together: give both (client certificate and its private key) or neither');
  if ((mqtt.ca || mqtt.cert || mqtt.insecure) && !/^(mqtts|wss|ssl):\/\//.test(mqtt.url)) {
    problems.push(
      `mqtt.ca/cert/key/insecure apply to TLS only: use an mqtts://host:8883 (or wss://) mqtt.url, not "${mqtt.url || 'the embedded broker'}"`,
    );
  }
  if (mqtt.password && mqtt.passwordFile) problems.push('mqtt.password and mqtt.passwordFile are both set: keep one');
}

function requireFile(problems: string[], key: string, value: string, what: string): void {
  if (!value) problems.push(`${key}: empty; give the path of ${what}`);
  else if (!existsSync(value)) problems.push(`${key}: file not found: "${value}"; give the path of ${what}`);
  else if (!statSync(value).isFile()) problems.push(`${key}: "${value}" is not a file; give the path of ${what}`);
}
