#!/usr/bin/env bash
# Copies what a device runs, and nothing else, into DEST: the built app (dist/), production node_modules with the
# OpenCV binding compiled by `make setup` and onnxruntime's binaries for this OS and CPU only, the model bundles, the
# demo clip, the example configuration and the systemd unit. The app finds all of it relative to itself, so DEST can be
# anywhere. Shared by deploy/install-service.sh (DEST=/opt/avscene) and deploy/package.sh (DEST inside the .deb).
#
#   deploy/stage-app.sh DEST
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: deploy/stage-app.sh DEST}
binding=node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node
for need in dist/cli/main.js "$binding"; do
  [ -f "$src/$need" ] || { echo "stage-app: $src/$need is missing: run \`make setup\` first (it builds the app and the OpenCV binding)" >&2; exit 1; }
done
mkdir -p "$dest"

# models/: the bundles only (models/work holds training features and frames, up to hundreds of GB).
tar -C "$src" -cf - package.json package-lock.json README.md dist models/bundles models/BUNDLE.md \
  deploy/demo deploy/config.example.json deploy/configure-service.sh systemd | tar -C "$dest" -xf -

# node_modules without what cannot run here: onnxruntime's builds for other systems and CPUs, and every native module's
# object files (node-gyp's obj.target and .deps). Then npm drops the development packages (TypeScript, tsx, type
# definitions) by the lockfile, offline.
case "$(node -p process.arch)" in x64) keep_arch=x64 ;; arm64) keep_arch=arm64 ;; *) keep_arch=$(node -p process.arch) ;; esac
ort=node_modules/onnxruntime-node/bin/napi-v6
excludes=(--exclude="$ort/darwin" --exclude="$ort/win32" --exclude=node_modules/.avscene-setup
  --exclude='*/build/Release/obj.target' --exclude='*/build/Release/.deps')
for other in x64 arm64; do [ "$other" = "$keep_arch" ] || excludes+=(--exclude="$ort/linux/$other"); done
tar -C "$src" -cf - "${excludes[@]}" node_modules | tar -C "$dest" -xf -
(cd "$dest" && npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
find "$dest/node_modules" -mindepth 1 -type d -empty -delete   # scope folders prune emptied (@esbuild, @types …)
[ -f "$dest/$binding" ] || { echo "stage-app: the OpenCV binding did not survive pruning ($dest/$binding)" >&2; exit 1; }
