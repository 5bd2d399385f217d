#!/usr/bin/env bash
# Installs avscene as a systemd service on a field device:
#   sudo deploy/install-service.sh [--config my-config.json]
# Copies this checkout (after `make setup`) to /opt/avscene, creates the `avscene` system user (groups audio, video),
# writes /etc/avscene/config.json (from --config, or a starting point for a live microphone) and enables the unit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0 $*" >&2; exit 1; }
config_src=""
[ "${1:-}" = "--config" ] && config_src="${2:?--config needs a file}"

bash deploy/setup.sh
id avscene >/dev/null 2>&1 || useradd --system --home /var/lib/avscene --create-home --shell /usr/sbin/nologin avscene
usermod -aG audio,video avscene
mkdir -p /opt/avscene /etc/avscene /var/lib/avscene
# node_modules travels with the code: the OpenCV binding was compiled for this machine by setup.sh.
cp -a package.json package-lock.json dist node_modules models deploy systemd README.md /opt/avscene/
if [ -n "$config_src" ]; then
  node dist/cli/main.js config --print --config "$config_src" >/dev/null   # refuse an invalid config before installing it
  install -m 640 -g avscene "$config_src" /etc/avscene/config.json
elif [ ! -f /etc/avscene/config.json ]; then
  install -m 640 -g avscene deploy/config.example.json /etc/avscene/config.json
  echo "wrote /etc/avscene/config.json from deploy/config.example.json: edit device.id, audio.device and mqtt.url"
fi
install -m 644 systemd/avscene.service /etc/systemd/system/avscene.service
systemctl daemon-reload
systemctl enable --now avscene
systemctl --no-pager status avscene || true
