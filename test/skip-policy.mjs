// The CI skip policy, applied by test/run.mjs's reporter: with CI=true a skipped test FAILS, naming what it could not
// test and why, unless its reason is on this allow-list. Keep the list short; every entry says why CI may skip it.
// Outside CI skips stay skips (a laptop without the shared recordings still runs everything else).

/** Skip reasons that may pass a CI run: only what no CI machine can have. A test on this list starts its reason so. */
export const ALLOWED_SKIPS = [
  {
    prefix: 'needs a GPU:',
    why: 'CI machines have no GPU; CUDA/TensorRT execution providers are checked on a GPU host (README § Execution providers).',
  },
  {
    prefix: 'cannot boot a systemd sandbox:',
    why: 'the systemd sandbox (test/helpers/systemd-sandbox.ts) needs root and a cgroup2 hierarchy: a machine without them cannot run it, whatever is installed. CI runs as root on a cgroup2 host, where these tests run.',
  },
  {
    prefix: 'needs an arm64 ',
    why: 'CI machines are x86_64: the arm64 checks run under qemu, but what needs a binding compiled on the board (OpenCV) runs there.',
  },
];

export const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** Null when a skip with this reason may pass in CI, else the sentence the failed test shows. */
export function ciSkipFailure(reason) {
  if (ALLOWED_SKIPS.some((entry) => reason.startsWith(entry.prefix))) return null;
  return `skipped in CI (CI=true): ${reason}. A skip fails CI unless its reason starts with one of: ${ALLOWED_SKIPS.map((e) => `"${e.prefix}"`).join(', ')} (test/skip-policy.mjs); install what the test needs (make setup-test) or lay the shared data beside the clone.`;
}
