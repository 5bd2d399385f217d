#!/usr/bin/env bash
# Installs avscene as a systemd service from this checkout (a fleet installs the .deb from `make package` instead;
# both install the same app under /opt/avscene and the same unit):
#
#   sudo deploy/install-service.sh [--config my-config.json] [--root DIR]
#
# Checks everything first and changes nothing when something is wrong: --config (relative to where you run this) must
# be a valid avscene configuration. Then copies the runtime (deploy/stage-app.sh: the built app, production
# node_modules, the bundles; never models/work) to /opt/avscene, writes /etc/avscene/config.json (from --config, or
# deploy/config.example.json the first time), installs the unit, and runs deploy/configure-service.sh (user `avscene`
# in the audio and video groups, /var/lib/avscene, the demo bundle when model.bundle is bundles/current) and systemd.
#
# --root DIR installs into DIR instead of / (DIR/opt/avscene, DIR/etc/…) and leaves users and systemd alone: for
# building images and for tests.
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
usage="usage: sudo $0 [--config FILE] [--root DIR]"

config_src=""
root=/
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config_src="${2:?--config needs a file. $usage}"; shift 2 ;;
    --root) root="${2:?--root needs a directory. $usage}"; shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "install-service: unknown argument $1. $usage" >&2; exit 64 ;;
  esac
done
# Paths are the caller's: resolve them against the directory this was run from, not the checkout.
case "$config_src" in ""|/*) ;; *) config_src="$caller_dir/$config_src" ;; esac
case "$root" in /*) ;; *) root="$caller_dir/$root" ;; esac
live=0; [ "$root" = / ] && live=1
[ "$live" = 0 ] || [ "$(id -u)" -eq 0 ] || { echo "install-service: run as root: sudo $0 $*" >&2; exit 1; }
[ -z "$config_src" ] || [ -f "$config_src" ] || { echo "install-service: --config $config_src: no such file" >&2; exit 66; }

# avscene's own prerequisites (system packages, the build): needed to check the configuration with the real CLI.
[ -f dist/cli/main.js ] && [ -f node_modules/.avscene-setup ] || bash deploy/setup.sh
if [ -n "$config_src" ]; then
  # Refuse an invalid configuration before anything of the service changes. model.bundle may be bundles/current,
  # which configure-service.sh creates.
  node dist/cli/main.js config --print --allow-missing-bundle --config "$config_src" >/dev/null \
    || { echo "install-service: $config_src is not a valid configuration (see above); nothing was installed" >&2; exit 78; }
fi

app="${root%/}/opt/avscene"
etc="${root%/}/etc/avscene"
echo "install-service: copying the runtime to $app"
bash deploy/stage-app.sh "$app.new"
rm -rf "$app.old"
[ -d "$app" ] && mv "$app" "$app.old"
mv "$app.new" "$app"
rm -rf "$app.old"

mkdir -p "$etc"
if [ -n "$config_src" ]; then
  install -m 640 "$config_src" "$etc/config.json"
elif [ ! -f "$etc/config.json" ]; then
  install -m 640 deploy/config.example.json "$etc/config.json"
  echo "install-service: wrote $etc/config.json from deploy/config.example.json: edit device.id, audio.device and mqtt.url"
fi
install -D -m 644 systemd/avscene.service "${root%/}/etc/systemd/system/avscene.service"

if [ "$live" = 0 ]; then
  echo "install-service: installed into $root; run /opt/avscene/deploy/configure-service.sh on the device, then systemctl enable --now avscene"
  exit 0
fi
bash "$app/deploy/configure-service.sh"
systemctl daemon-reload
systemctl enable avscene
systemctl restart avscene
systemctl --no-pager status avscene || true
