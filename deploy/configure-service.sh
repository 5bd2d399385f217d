#!/usr/bin/env bash
# Prepares a device for the avscene service, idempotently (run as root): the `avscene` system user in the audio and
# video groups, its state directory /var/lib/avscene, read access to /etc/avscene/config.json (which may hold the MQTT
# password), and, when model.bundle is a bundles/current link that does not exist yet, the demo bundle installed there
# so the service can start. Called by the .deb's postinst and by deploy/install-service.sh, after the app is in place.
#
#   /opt/avscene/deploy/configure-service.sh
set -euo pipefail
app=$(cd "$(dirname "$0")/.." && pwd)
config=/etc/avscene/config.json
state=/var/lib/avscene
cli=("$(command -v node)" "$app/dist/cli/main.js")

id avscene >/dev/null 2>&1 || useradd --system --user-group --home-dir "$state" --no-create-home --shell /usr/sbin/nologin avscene
usermod -aG audio,video avscene
install -d -o avscene -g avscene -m 755 "$state"   # as systemd's StateDirectory= makes it
[ -f "$config" ] && chgrp avscene "$config" && chmod 640 "$config"

# The demo bundle makes a fresh install runnable; a fleet's own bundle replaces it with `avscene bundle install`.
bundle=$("${cli[@]}" config --print --allow-missing-bundle --config "$config" 2>/dev/null | node -e \
  'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).model.bundle))') || bundle=""
if [ "$(basename "$bundle")" = current ] && [ ! -e "$bundle" ]; then
  install -d -o avscene -g avscene -m 755 "$(dirname "$bundle")"
  if runuser -u avscene -- "${cli[@]}" bundle install "$app/models/bundles/demo-audio" --config "$config" --no-reload >/dev/null; then
    echo "avscene: installed the demo bundle as $bundle (replace it with: avscene bundle install YOUR-BUNDLE.tar.gz)"
  else
    echo "avscene: warning: the demo bundle was not installed in $(dirname "$bundle") (see above); install a bundle with: avscene bundle install YOUR-BUNDLE.tar.gz" >&2
  fi
fi
