#!/usr/bin/env bash
# `make package`: builds avscene_<version>_<arch>.deb for the machine it runs on (amd64 here, arm64 on a Jetson), so
# that no device compiles anything: the app under /opt/avscene with production node_modules (the OpenCV binding
# compiled by `make setup`, onnxruntime's binaries), the demo bundle, /usr/bin/avscene, the systemd unit,
# /etc/avscene/config.json as a conffile, and maintainer scripts that create the `avscene` user and /var/lib/avscene.
#
#   deploy/package.sh [--out DIR]      (default DIR: build/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=build
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    *) echo "package: unknown argument $1 (usage: deploy/package.sh [--out DIR])" >&2; exit 64 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "package: dpkg-deb not found: build the package on Debian, Ubuntu or JetPack" >&2; exit 1; }

version=$(node -p 'require("./package.json").version')
# The project's address for package questions and bug reports (README § Deploying to a fleet).
maintainer='avscene developers <packaging@avscene.dev>'
arch=$(dpkg --print-architecture)
node_major=$(node -p 'process.versions.node.split(".")[0]')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
app="$root/opt/avscene"

bash deploy/stage-app.sh "$app"
install -D -m 644 systemd/avscene.service "$root/lib/systemd/system/avscene.service"
install -D -m 644 deploy/config.example.json "$root/etc/avscene/config.json"
# Mender: the update modules for model bundles and for this package, and the inventory script (README § Rolling out to a fleet with Mender).
install -D -m 755 deploy/mender/avscene-bundle "$root/usr/share/mender/modules/v3/avscene-bundle"
install -D -m 755 deploy/mender/avscene-deb "$root/usr/share/mender/modules/v3/avscene-deb"
install -D -m 755 deploy/mender/mender-inventory-avscene "$root/usr/share/mender/inventory/mender-inventory-avscene"
mkdir -p "$root/usr/bin"
ln -s /opt/avscene/dist/cli/main.js "$root/usr/bin/avscene"   # absolute across top-level folders (Debian policy 10.5)

# Depends: the packages of the shared libraries the native modules link directly (their NEEDED entries, as
# dpkg-shlibdeps reads them; libraries shipped inside node_modules belong to no package and are skipped), Node.js of the
# major version the OpenCV binding was compiled for (its ABI changes with every major), and arecord for the microphone.
shlib_packages() {
  local module name so
  for module in "$@"; do
    for name in $(readelf -d "$module" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      so=$(ldd "$module" 2>/dev/null | awk -v n="$name" '$1 == n && $3 ~ /^\// {print $3}')
      [ -n "$so" ] && { dpkg -S "$(readlink -f "$so")" 2>/dev/null || dpkg -S "$so" 2>/dev/null || true; }
    done
  done | cut -d: -f1 | sort -u
}
native=("$app/node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node")
while IFS= read -r f; do native+=("$f"); done < <(find "$app/node_modules/onnxruntime-node/bin" -name '*.node' -o -name '*.so*')
depends=()
for p in $(shlib_packages "${native[@]}"); do
  upstream=$(dpkg-query -W -f='${Version}' "$p" | sed 's/-[^-]*$//')
  depends+=("$p (>= $upstream)")
done
# init-system-helpers: deb-systemd-helper, with which the maintainer scripts enable the unit with or without systemd.
depends+=("nodejs (>= $node_major)" "nodejs (<< $((node_major + 1)))" "alsa-utils" "init-system-helpers (>= 1.54)")
join() { local IFS=','; echo "$*" | sed 's/,/, /g'; }

# usr/share/doc/avscene: the licences of everything bundled (deploy/copyright.mjs reads the staged node_modules), a
# changelog entry for this version (native package: changelog.gz), and what lintian is told and why.
doc="$root/usr/share/doc/avscene"
mkdir -p "$doc" "$root/usr/share/lintian/overrides"
node deploy/copyright.mjs "$app" > "$doc/copyright"
changed=$(git log -1 --format=%cD 2>/dev/null || date -R)
printf 'avscene (%s) stable; urgency=medium\n\n  * Release %s: README.md and the git history say what changed.\n\n -- %s  %s\n' \
  "$version" "$version" "$maintainer" "$changed" | gzip -9n > "$doc/changelog.gz"
install -m 644 deploy/lintian-overrides "$root/usr/share/lintian/overrides/avscene"
chmod -R u=rwX,go=rX "$root"

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: avscene
Version: $version
Architecture: $arch
Maintainer: $maintainer
Section: misc
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $(join "${depends[@]}")
Recommends: gstreamer1.0-plugins-base, mosquitto-clients
Description: audio-visual scene classification published over MQTT
 An edge daemon that tells what kind of place a device is in (airport, bus,
 metro, park, street...) from its microphone and camera, and publishes it over
 MQTT for Home Assistant, Node-RED and Grafana. Built for this machine's
 architecture with Node.js $node_major: the OpenCV binding and ONNX Runtime are
 included, nothing is compiled on the device.
CONTROL
echo /etc/avscene/config.json > "$root/DEBIAN/conffiles"

# Maintainer scripts: what dh_installsystemd writes (deb-systemd-helper enables the unit from its [Install] section,
# which works in a chroot without systemd, as a device image is built; deb-systemd-invoke / systemctl only when systemd
# runs), plus the avscene user and state (configure-service.sh).
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
# configure: the avscene user (audio, video), /var/lib/avscene, the demo bundle when none is installed; the service
# enabled (first install) or kept as the administrator left it (upgrade), restarted on upgrade when it runs.
set -e
if [ "$1" = configure ]; then
  /opt/avscene/deploy/configure-service.sh
fi
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
  # Removes only a mask that deb-systemd-helper itself set when the package was removed.
  deb-systemd-helper unmask avscene.service >/dev/null || true
  # was-enabled is true on a first install: enable. On an upgrade it keeps what the administrator chose.
  if deb-systemd-helper --quiet was-enabled avscene.service; then
    deb-systemd-helper enable avscene.service >/dev/null || true
  else
    deb-systemd-helper update-state avscene.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    [ -z "$2" ] || deb-systemd-invoke try-restart avscene.service >/dev/null || true
  fi
fi
if [ "$1" = configure ] && [ -z "$2" ]; then
  if [ -d /run/systemd/system ]; then when="now: systemctl start avscene"; else when="at the next boot"; fi
  echo "avscene: the service is enabled and starts $when; first set device.id, audio.device and mqtt.url in /etc/avscene/config.json"
  echo "avscene: without a microphone it starts anyway and says what it waits for: systemctl status avscene"
fi
exit 0
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
# remove: stop the service (an upgrade restarts it from postinst instead).
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop avscene.service >/dev/null || true
fi
exit 0
PRERM
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
# remove: the unit is masked (deb-systemd-helper's own mask, lifted by a reinstall). purge: also its enablement state,
# the configuration (dpkg removes the conffile itself; this takes what was added beside it, e.g. avscene.env), the
# state directory with its bundles, and the runtime directory. The avscene user and group stay: files it owns outside
# these folders (copies of bundles, recordings) would otherwise be left to a reused uid (Debian's policy for system users).
set -e
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null; then
  deb-systemd-helper mask avscene.service >/dev/null || true
fi
if [ "$1" = purge ]; then
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper purge avscene.service >/dev/null || true
    deb-systemd-helper unmask avscene.service >/dev/null || true
  fi
  rm -rf /etc/avscene /var/lib/avscene /run/avscene
  echo "avscene: removed /etc/avscene, /var/lib/avscene and /run/avscene; kept the system user and group avscene (remove them with: deluser --system avscene)"
fi
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
exit 0
POSTRM
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/avscene_${version}_${arch}.deb"
# xz at its fastest preset: 26 MiB instead of 22 at preset 6, in a sixth of the time (BENCHMARKS.md § Package).
dpkg-deb --root-owner-group -Zxz -z1 --build "$root" "$deb" >/dev/null
echo "$deb"
