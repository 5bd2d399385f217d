#!/usr/bin/env bash
# `make mender-artifact BUNDLE=DIR DEVICE_TYPE=T`: a Mender artifact of a model bundle for the `avscene-bundle` update
# module the package installs: build/<name>-<version>.mender, artifact name avscene-bundle-<name>-<version>, payload
# the bundle as <name>-<version>.tar.gz. It provides avscene-bundle.name / avscene-bundle.version (what the device
# then reports to the server) and clears the previous bundle's (avscene-bundle.*). The bundle is checked first with
# `avscene bundle install`'s own verification, signature included when it has bundle.sig.
#
#   deploy/mender/make-artifact.sh BUNDLE_DIR DEVICE_TYPE [--out DIR] [--key PRIVATE.pem] [--public-key ED25519.pem]
#
# --key signs the artifact with mender-artifact (RSA or ECDSA; the Mender client checks it when mender.conf has
# ArtifactVerifyKey). --public-key checks the bundle's own Ed25519 signature now, as the daemon will (model.publicKey).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "mender-artifact: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: make mender-artifact BUNDLE=DIR DEVICE_TYPE=T (e.g. BUNDLE=models/bundles/demo-audio DEVICE_TYPE=jetson-orin-nano)"
bundle=$1 device_type=$2
shift 2
out=$repo/build key='' public_key=''
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --key) key=${2:?--key needs a private key file}; shift 2 ;;
    --public-key) public_key=${2:?--public-key needs a public key file}; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -n "$device_type" ] || die "DEVICE_TYPE is empty: give the device_type the boards have in /var/lib/mender/device_type"
[ -f "$bundle/bundle.json" ] || die "$bundle has no bundle.json: BUNDLE must be a model bundle directory (models/bundles/NAME)"
command -v mender-artifact >/dev/null || die "mender-artifact not found: apt-get install mender-artifact (make setup-test installs it)"

# Verified as the device will (files, SHA-256, signature): a broken bundle never reaches the server.
node -e '
  import(process.argv[1]).then(async ({ loadBundle }) => {
    await loadBundle(process.argv[2], { publicKey: process.argv[3] || undefined });
  }).catch((err) => { console.error(`mender-artifact: ${err.message}`); process.exit(1); });' \
  "$repo/dist/inference/index.js" "$bundle" "$public_key"

read -r name version < <(node -e 'const m = require(require("path").resolve(process.argv[1], "bundle.json")); console.log(m.name, m.version)' "$bundle")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball="$work/$name-$version.tar.gz"
tar -C "$(dirname "$bundle")" -czf "$tarball" --transform "s|^$(basename "$bundle")|$name-$version|" "$(basename "$bundle")"

mkdir -p "$out"
artifact="$out/$name-$version.mender"
args=(write module-image -T avscene-bundle -n "avscene-bundle-$name-$version" -t "$device_type" -f "$tarball"
  -o "$artifact" --provides "avscene-bundle.name:$name" --provides "avscene-bundle.version:$version"
  --clears-provides 'avscene-bundle.*' --no-default-software-version --no-default-clears-provides)
[ -z "$key" ] || args+=(-k "$key")
mender-artifact "${args[@]}" >/dev/null
echo "$artifact"
