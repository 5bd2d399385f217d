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
 * `debs` are installed the way a device image is built: `dpkg -i` in a chroot (an overlay of the host's root, no
 * systemd running: maintainer scripts see no /run/systemd/system), and what that wrote is unpacked into the sandbox's
 * root before its systemd starts. `setup` is more bash run there at the same time
 * (`$1` = the new root; after the packages). `share` is a host directory bound read-only at /srv/share inside; the
 * packages are shared with it too (it is made readable by all: the service users inside read from it). Inside, the
 * network is `lo` only and the host's /tmp is empty.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  renameSync,
  linkSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
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
  /** What `dpkg -i` of `debs` printed when the image was built (maintainer scripts' messages); '' without debs. */
  readonly imageLog: string;
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
    // In a session of its own: a command inside that signals its process group (kill 0) cannot reach the test runner.
    execFile(
      'setsid',
      ['--wait', 'bash', SANDBOX_TOOL, ...args],
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

/**
 * The image build: `dpkg -i` of `debs` in a chroot (no systemd running) of an overlay on the host's root, in a private
 * mount namespace; what it changed (the overlay's upper layer) is kept as a tar beside the first package, once per set
 * of packages. The sandbox unpacks it into its new root before systemd starts, as a device boots its image: the
 * maintainer scripts (node, useradd …) take tens of seconds on a loaded machine, longer than the sandbox script waits
 * for systemd to come up after SBX_SETUP.
 */
function imageLayer(debs: string[]): string {
  const key = createHash('sha256');
  // The layer holds whole copies of files the host may change later (dpkg's status, /etc/passwd): rebuilt when dpkg ran.
  key.update(`${statSync('/var/lib/dpkg/status').mtimeMs}\0`);
  for (const deb of debs) key.update(`${path.resolve(deb)}\0${statSync(deb).size}\0${statSync(deb).mtimeMs}\0`);
  const layer = path.join(path.dirname(debs[0]!), `image-${key.digest('hex').slice(0, 12)}.tar`);
  if (existsSync(layer) && existsSync(`${layer}.log`)) return layer;
  const work = mkdtempSync('/tmp/avscene-image-');
  const script = `
    set -euo pipefail
    W=${work}
    mount -t tmpfs -o mode=755 image-rw "$W"
    mkdir -p "$W/upper" "$W/work" "$W/root"
    mount -t overlay image-root -o "lowerdir=/,upperdir=$W/upper,workdir=$W/work" "$W/root"
    mount -t proc proc "$W/root/proc"
    mount --rbind /dev "$W/root/dev"
    mkdir -p "$W/root/run/avscene-image"
    mount -t tmpfs image-debs "$W/root/run/avscene-image"
    cp ${debs.map((d) => `'${d}'`).join(' ')} "$W/root/run/avscene-image/"
    chroot "$W/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg -i ${debs.map((d) => `'/run/avscene-image/${path.basename(d)}'`).join(' ')}
    # Deletions of the host's files would show as whiteouts (0/0 character devices): an image build makes none here.
    if find "$W/upper" -type c | grep -q .; then echo "whiteouts in the image layer: $(find "$W/upper" -type c)" >&2; exit 1; fi
    tar -C "$W/upper" --exclude=./run --exclude=./tmp --exclude=./proc --exclude=./dev -cpf '${layer}.part' .
  `;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  rmSync(work, { recursive: true, force: true });
  if (r.status !== 0) {
    rmSync(`${layer}.part`, { force: true });
    throw new Error(
      `installing ${debs.join(' ')} in a chroot failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`,
    );
  }
  writeFileSync(`${layer}.log`, `${r.stdout}${r.stderr}`);
  renameSync(`${layer}.part`, layer);
  return layer;
}

/** Boots a sandbox, runs `body` with it, and tears it down (also when `body` throws). */
export async function withSandbox<T>(options: SandboxOptions, body: (sbx: Sandbox) => Promise<T>): Promise<T> {
  const reason = sandboxUnavailable();
  if (reason) throw new Error(reason);
  const layer = options.debs?.length ? imageLayer(options.debs) : null;
  const dir = mkdtempSync('/tmp/avscene-sbx-');
  const share = options.share ?? path.join(dir, 'share');
  mkdirSync(share, { recursive: true });
  chmodSync(share, 0o755); // service users inside (avscene) read from it too; mkdtemp makes folders 0700
  for (const deb of options.debs ?? []) {
    const target = path.join(share, path.basename(deb));
    if (existsSync(target)) continue;
    try {
      linkSync(deb, target);
    } catch {
      copyFileSync(deb, target); // another file system
    }
  }
  const setup = path.join(dir, 'image-setup.sh');
  writeFileSync(
    setup,
    [
      'set -euo pipefail',
      // The packages, as the image build installed them (imageLayer): no systemd ran there.
      ...(layer ? [`tar -C "$1" -xpf '${layer}'`] : []),
      // A build host's policy-rc.d (Docker's answers 101 to everything) would stop every maintainer script's service
      // action (deb-systemd-invoke try-restart on an upgrade): a booted device has none.
      'rm -f "$1/usr/sbin/policy-rc.d"',
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
      imageLog: layer ? readFileSync(`${layer}.log`, 'utf8') : '',
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
