/**
 * A real systemd (PID 1 of private namespaces) for tests: `../shared/tools/systemd-sandbox.sh` (read its header), one
 * sandbox per call with its own state directory, torn down afterwards whatever happens.
 *
 *   const reason = sandboxUnavailable();               // null, or why this machine cannot boot one (skip with it)
 *   await withSandbox({ debs: [builtDeb()] }, async (sbx) => {
 *     assert.equal((await sbx.exec('systemctl is-enabled avscene')).stdout.trim(), 'enabled');
 *     await sbx.sh('systemctl start avscene');          // throws with the output when the command fails
 *   });
 *
 * `debs` are installed the way a device image is built: `dpkg -i` in a chroot of the new root before systemd starts
 * (no systemd running: maintainer scripts see no /run/systemd/system). `setup` is more bash run there at the same time
 * (`$1` = the new root; after the packages). `share` is a host directory bound read-only at /srv/share inside; the
 * packages are shared with it too (it is made readable by all: the service users inside read from it). Inside, the
 * network is `lo` only and the host's /tmp is empty.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

export const SANDBOX_TOOL =
  process.env.AVSCENE_SYSTEMD_SANDBOX ?? path.resolve(REPO_ROOT, '..', 'shared', 'tools', 'systemd-sandbox.sh');

/** Reasons start so; test/skip-policy.mjs allows them in CI (a machine that cannot boot a sandbox cannot be fixed by a test). */
export const CANNOT_BOOT = 'cannot boot a systemd sandbox:';

/** Null when a sandbox can boot here, else the skip reason (starting with CANNOT_BOOT where the machine is at fault). */
export function sandboxUnavailable(): string | null {
  if (!existsSync(SANDBOX_TOOL))
    return `${SANDBOX_TOOL} not found: lay the shared tools beside the clone (../shared) or set AVSCENE_SYSTEMD_SANDBOX`;
  if (process.getuid?.() !== 0)
    return `${CANNOT_BOOT} not root (namespaces, cgroups and mounts need root; CI runs as root)`;
  const cg2 = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find(
    (dir) => spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() === 'cgroup2fs',
  );
  if (!cg2) return `${CANNOT_BOOT} no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified`;
  if (!existsSync('/lib/systemd/systemd'))
    return `${CANNOT_BOOT} /lib/systemd/systemd is not installed (apt-get install systemd)`;
  return null;
}

export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  /** The sandbox's state directory on the host (console.log: systemd's console). */
  readonly dir: string;
  /** The host directory seen at /srv/share inside (packages included). */
  readonly share: string;
  /** Runs a bash command line inside, as root, in every namespace of the sandbox; never throws for a non-zero exit. */
  exec(command: string, options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** As exec, but throws (with the command's output) unless it exits 0; returns its stdout. */
  sh(command: string, options?: { timeoutMs?: number }): Promise<string>;
  /** systemd's console so far (boot messages, units failing). */
  console(): string;
}

export interface SandboxOptions {
  /** Packages installed the image way before systemd starts (`chroot ROOT dpkg -i`). */
  debs?: string[];
  /** Bash run with the new root as $1 before systemd starts, after the packages (drop-ins, configuration, fixtures). */
  setup?: string;
  /** Host directory bound read-only at /srv/share (default: a fresh one holding the packages). */
  share?: string;
  /** Boot, exec and teardown time of one sandbox at most (default 10 min). */
  timeoutMs?: number;
}

const live = new Set<string>();
// A test file that dies (an assertion in a hook, --test-force-exit) must not leave a systemd and its cgroup behind.
process.once('exit', () => {
  for (const dir of live) down(dir);
});

function tool(dir: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SANDBOX_TOOL, ...args],
      { env: { ...process.env, ...env, SBX: dir }, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) : 0;
        resolve({
          status: typeof code === 'number' ? code : 1,
          stdout,
          stderr: `${stderr}${err?.killed ? `\n(killed after ${timeoutMs} ms)` : ''}`,
        });
      },
    );
  });
}

function down(dir: string): void {
  spawnSync('bash', [SANDBOX_TOOL, 'down'], { env: { ...process.env, SBX: dir }, stdio: 'ignore', timeout: 60_000 });
  live.delete(dir);
}

/** Boots a sandbox, runs `body` with it, and tears it down (also when `body` throws). */
export async function withSandbox<T>(options: SandboxOptions, body: (sbx: Sandbox) => Promise<T>): Promise<T> {
  const reason = sandboxUnavailable();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync('/tmp/avscene-sbx-');
  const share = options.share ?? path.join(dir, 'share');
  mkdirSync(share, { recursive: true });
  chmodSync(share, 0o755); // service users inside (avscene) read from it too; mkdtemp makes folders 0700
  const inside: string[] = [];
  for (const deb of options.debs ?? []) {
    const name = path.basename(deb);
    const target = path.join(share, name);
    if (!existsSync(target)) {
      try {
        linkSync(deb, target);
      } catch {
        copyFileSync(deb, target); // another file system
      }
    }
    inside.push(`/srv/share/${name}`);
  }
  const setup = path.join(dir, 'image-setup.sh');
  writeFileSync(
    setup,
    [
      'set -euo pipefail',
      // As an image build does it: no systemd running in the root the packages go into.
      ...(inside.length ? [`chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg -i ${inside.join(' ')}`] : []),
      options.setup ?? '',
      '',
    ].join('\n'),
  );
  const timeoutMs = options.timeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs;
  const left = (ms?: number) => Math.max(1000, Math.min(ms ?? Number.POSITIVE_INFINITY, deadline - Date.now()));
  live.add(dir);
  try {
    const booted = await tool(dir, ['boot'], left(180_000), { SBX_SETUP: setup, SBX_SHARE: share });
    if (booted.status !== 0)
      throw new Error(`the systemd sandbox did not boot (exit ${booted.status}):\n${booted.stderr}${booted.stdout}`);
    const sbx: Sandbox = {
      dir,
      share,
      exec: (command, opts) => tool(dir, ['exec', 'bash', '-c', command], left(opts?.timeoutMs ?? 120_000)),
      async sh(command, opts) {
        const r = await this.exec(command, opts);
        if (r.status !== 0)
          throw new Error(`inside the sandbox, \`${command}\` exited ${r.status}:\n${r.stdout}${r.stderr}`);
        return r.stdout;
      },
      console: () => {
        const log = path.join(dir, 'console.log');
        return existsSync(log) && statSync(log).size > 0
          ? spawnSync('tail', ['-c', '20000', log], { encoding: 'utf8' }).stdout
          : '';
      },
    };
    return await body(sbx);
  } finally {
    down(dir);
    // The sandbox's mounts live in its own mount namespace; should one ever show here, leave the directory alone.
    if (spawnSync('grep', ['-q', ` ${dir}/`, '/proc/self/mountinfo']).status === 0)
      console.error(`# systemd-sandbox: mounts left under ${dir} after teardown; not removing it`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
