#!/usr/bin/env bash
# Copies what a device runs, and nothing else, into DEST: the built app (dist/, without source maps), production
# node_modules (stripped native code, no build tooling, docs or tests: deploy/prune-runtime.mjs) with the OpenCV
# binding compiled by `make setup` and onnxruntime's binaries for this OS and CPU only, the model bundles, the
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
# What npm keeps but nothing runs: build tooling (node-gyp and its tree), docs, tests, sources, source maps.
node "$src/deploy/prune-runtime.mjs" "$dest" >&2
find "$dest/node_modules" -mindepth 1 -type d -empty -delete   # scope folders prune emptied (@esbuild, @types …)
[ -f "$dest/$binding" ] || { echo "stage-app: the OpenCV binding did not survive pruning ($dest/$binding)" >&2; exit 1; }
# Native code without its debugging symbols (OpenCV binding, onnxruntime, unix-dgram): smaller, and what Debian ships.
# A search path made only of the system's library folders (and $ORIGIN, where nothing is beside the module) is dropped:
# the dynamic linker looks there anyway (Debian policy forbids such RUNPATHs).
while IFS= read -r -d '' so; do
  strip --strip-unneeded "$so"
  runpath=$(readelf -d "$so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p')
  [ -n "$runpath" ] || continue
  system=1
  for dir in ${runpath//:/ }; do
    case "$dir" in '$ORIGIN'|/lib|/usr/lib|/lib/*-linux-gnu*|/usr/lib/*-linux-gnu*) ;; *) system=0 ;; esac
  done
  if [ "$system" = 1 ] && command -v chrpath >/dev/null; then chrpath -d "$so" >/dev/null; fi
done < <(find "$dest/node_modules" -type f \( -name '*.node' -o -name '*.so' -o -name '*.so.*' \) -print0)
# Modes as Debian wants them: scripts (#!) executable, everything else (libraries and .node modules too) not.
find "$dest/node_modules" -type f -perm /111 ! -name '*.node' ! -name '*.so*' -exec sh -c \
  'for f; do head -c2 "$f" | grep -q "#!" || chmod a-x "$f"; done' sh {} +
find "$dest/node_modules" -type f \( -name '*.node' -o -name '*.so' -o -name '*.so.*' \) -exec chmod a-x {} +
find "$dest/node_modules" -type f ! -perm /111 -exec sh -c 'for f; do head -c2 "$f" | grep -q "#!" && chmod a+x "$f"; done; true' sh {} +
# dist/: the source maps point at src/, which is not shipped.
find "$dest/dist" -name '*.map' -delete
find "$dest/dist" -name '*.js' -exec sed -i '/^\/\/# sourceMappingURL=/d' {} +
