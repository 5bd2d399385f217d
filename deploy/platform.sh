# The decisions of deploy/setup.sh that depend on the machine (its CPU, the Node.js it has, what apt offers), as functions
# of those facts. setup.sh calls them with this machine's facts; test/platform/setup-plan.test.ts calls them with a
# Jetson's (aarch64) from any machine, so an x86-only path cannot creep into the setup unnoticed. Sourced, not run.

# The Node.js major version avscene runs on (and the one the npm registry's node@N / node-linux-<arch>@N provide).
NODE_MAJOR=20

# platform_plan MACHINE — MACHINE as `uname -m` prints it. Prints KEY=VALUE lines:
#   node_arch            Node's name for the CPU (process.arch), also the suffix of the npm registry's node-linux-* packages
#   onnxruntime_binding  onnxruntime-node's prebuilt binding for this CPU, shipped inside its npm package (no download:
#                        only linux/x64's install script fetches anything, the optional CUDA libraries, which setup skips)
#   arm64_run            how `make test` runs the daemon's audio path on arm64: qemu (emulated, on x86_64) or native
#   test_packages        Debian packages the arm64 run needs here (none where the CPU is arm64 already)
# A CPU avscene cannot run on prints the reason on stderr and returns 1.
platform_plan() {
  local node_arch
  case "$1" in
    x86_64 | amd64) node_arch=x64 ;;
    aarch64 | arm64) node_arch=arm64 ;;
    *)
      echo "avscene runs on x86_64 and aarch64 (arm64) Linux: onnxruntime-node has prebuilt binaries for those two only; this machine is '$1'" >&2
      return 1
      ;;
  esac
  echo "node_arch=$node_arch"
  echo "onnxruntime_binding=node_modules/onnxruntime-node/bin/napi-v6/linux/$node_arch/onnxruntime_binding.node"
  if [ "$node_arch" = arm64 ]; then
    echo "arm64_run=native"
    echo "test_packages="
  else
    echo "arm64_run=qemu"
    echo "test_packages=qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross"
  fi
}

# node_plan MACHINE INSTALLED_MAJOR APT_CANDIDATE_MAJOR — where Node.js $NODE_MAJOR comes from. Pass 0 for a Node.js that
# is not installed and for an apt without a nodejs candidate. Prints one of:
#   present                          the installed Node.js is new enough
#   apt                              apt's nodejs is new enough (Ubuntu 24.10+, Debian 13)
#   npm node@20 node-linux-<arch>    the official build the npm registry carries (Debian 12: 18; JetPack 5/6's Ubuntu
#                                    20.04/22.04: 10/12); npm's `node` package installs its node-linux-<arch> package
node_plan() {
  local plan node_arch
  plan=$(platform_plan "$1") || return 1
  node_arch=$(sed -n 's/^node_arch=//p' <<<"$plan")
  if [ "${2:-0}" -ge "$NODE_MAJOR" ]; then
    echo present
  elif [ "${3:-0}" -ge "$NODE_MAJOR" ] 2>/dev/null; then
    echo apt
  else
    echo "npm node@$NODE_MAJOR node-linux-$node_arch"
  fi
}

# onnxruntime_install_choice REQUESTED STAMP — onnxruntime-node's ONNXRUNTIME_NODE_INSTALL for this setup run: what was
# requested (cuda12 on an x86_64 GPU host, skip), else what the last setup of this node_modules chose (its stamp ends with
# " onnxruntime-<choice>"), so that a later `make test` or `make demo` keeps the CUDA provider libraries; else skip (the
# CPU binaries inside the npm package; the install script would fetch the CUDA libraries from NuGet).
onnxruntime_install_choice() {
  local remembered
  remembered=$(sed -n 's/.* onnxruntime-\([^ ]*\)$/\1/p' <<<"$2")
  echo "${1:-${remembered:-skip}}"
}

# plan_value KEY PLAN — one value of platform_plan's output.
plan_value() {
  sed -n "s/^$1=//p" <<<"$2"
}
