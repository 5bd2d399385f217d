/** A real mosquitto broker (Debian package) on a free loopback port, started and stopped by the tests. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from './media.js';

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** Users and passwords (mosquitto_passwd); anonymous clients are refused then. */
  users?: Record<string, string>;
  /** TLS listener: the broker's certificate, and the CA whose client certificates it requires (mutual TLS). */
  tls?: { ca: string; cert: string; key: string; requireClientCertificate: boolean };
  /** mosquitto ACL file (what each client may read and write); reload() reads it again. */
  aclFile?: string;
  /** Run inside this network namespace, listening on `address` (a broken-link test: helpers/netns.ts). */
  netns?: { name: string; address: string };
}

/** mosquitto_passwd file for `users`; rewrite it and call reload() to change a password on a running broker. */
export function writePasswordFile(file: string, users: Record<string, string>): void {
  writeFileSync(file, '');
  for (const [user, password] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', file, user, password]);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 5000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts mosquitto; pass a port to restart a broker on the same address (persistence keeps retained messages). */
export async function startMosquitto(
  port?: number,
  dataDir?: string,
  options: MosquittoOptions = {},
): Promise<Mosquitto & { dataDir: string; passwordFile: string; reload(): void }> {
  const chosen = port ?? (await freePort());
  const dir = dataDir ?? tempDir('avscene-mosq-');
  const conf = path.join(dir, 'mosquitto.conf');
  const passwordFile = path.join(dir, 'passwords');
  if (options.users) writePasswordFile(passwordFile, options.users);
  const { tls } = options;
  writeFileSync(
    conf,
    [
      `listener ${chosen} ${options.netns?.address ?? '127.0.0.1'}`,
      ...(tls
        ? [
            `cafile ${tls.ca}`,
            `certfile ${tls.cert}`,
            `keyfile ${tls.key}`,
            `require_certificate ${tls.requireClientCertificate}`,
          ]
        : []),
      ...(options.users ? ['allow_anonymous false', `password_file ${passwordFile}`] : ['allow_anonymous true']),
      ...(options.aclFile ? [`acl_file ${options.aclFile}`] : []),
      'persistence true',
      `persistence_location ${dir}/`,
      // As root, mosquitto would drop to the `mosquitto` user and could not write the persistence directory.
      ...(os.userInfo().uid === 0 ? ['user root'] : []),
      'log_dest stderr',
      'log_type error',
    ].join('\n') + '\n',
  );
  const command = options.netns
    ? ['ip', 'netns', 'exec', options.netns.name, 'mosquitto', '-c', conf]
    : ['mosquitto', '-c', conf];
  const child: ChildProcess = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => {
    throw new Error(`cannot start mosquitto (apt-get install mosquitto; make test does it): ${err.message}`);
  });
  try {
    await waitForPort(chosen, 5000, options.netns?.address);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`mosquitto did not start on port ${chosen}: ${stderr || (err as Error).message}`);
  }
  return {
    url: `${tls ? 'mqtts' : 'mqtt'}://${options.netns?.address ?? '127.0.0.1'}:${chosen}`,
    port: chosen,
    dataDir: dir,
    passwordFile,
    /** SIGHUP: mosquitto reads its password and ACL files again. */
    reload() {
      child.kill('SIGHUP');
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
