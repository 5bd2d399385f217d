/**
 * A real Node-RED (npm node-red, pinned in deploy/setup.sh and installed by `make setup-test` into the cache beside the
 * OpenCV binding, not into node_modules: it is a tool the tests drive, not a dependency) with its own user directory,
 * on a free loopback port.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';
import { freePort } from './mosquitto.js';
import { poll } from './wait.js';

const VERSION = /^NODE_RED_VERSION=(\S+)$/m.exec(readFileSync(path.join(REPO_ROOT, 'deploy', 'setup.sh'), 'utf8'))![1]!;
const RED = path.join(
  process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
  'avscene',
  `node-red-${VERSION}`,
  'node_modules',
  'node-red',
  'red.js',
);

export interface NodeRed {
  url: string;
  /** Everything Node-RED printed (its log). */
  log(): string;
  /** SIGTERM, as systemd stops it; resolves when it has exited (it closes its MQTT connections first). */
  stop(): Promise<void>;
}

/**
 * Starts Node-RED on `flows` (a flow file's nodes) in `userDir`, with flow context kept on disk (so a function node's
 * memory survives a restart, as the README advises); resolves once the flows run. Start it again with the same
 * `userDir` for a restart.
 */
export async function startNodeRed(userDir: string, flows: unknown[]): Promise<NodeRed> {
  if (!existsSync(RED)) throw new Error(`Node-RED ${VERSION} is not installed at ${RED}: run make setup-test`);
  const port = await freePort();
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  writeFileSync(
    path.join(userDir, 'settings.js'),
    `module.exports = ${JSON.stringify({
      uiPort: port,
      uiHost: '127.0.0.1',
      flowFile: 'flows.json',
      credentialSecret: false,
      contextStorage: { default: { module: 'localfilesystem' } },
      logging: { console: { level: 'info' } },
      telemetry: { enabled: false },
      editorTheme: { tours: false, palette: {}, projects: { enabled: false } },
    })};\n`,
  );
  const child = spawn(process.execPath, [RED, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  running.add(child);
  await poll(
    () => log,
    (l) => l.includes('Started flows'),
    60_000,
    'Node-RED to start its flows',
    { everyMs: 100, givesUp: () => (exited ? 'Node-RED exited' : null), explain: (l) => l.slice(-2000) },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await gone;
      running.delete(child);
    },
  };
}

const running = new Set<ReturnType<typeof spawn>>();

/** Kills every Node-RED a test started and did not stop (a failed test must not leave one behind). */
export function killNodeRed(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
