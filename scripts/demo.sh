#!/usr/bin/env bash
# The end-to-end demo: installs what is missing, builds, then plays the publisher:
# a key pair, a manifest of the sample H5 app, a signature, a verification, and a
# tampered copy that verification refuses.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release/reference-server/mdsctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "publisher key pair"
"$bin/mdsctl" keygen --out "$work/publisher.key"

step "manifest of samples/quickstart/h5-app, version 1.0.0"
"$bin/mdsctl" manifest --app demo --kind offline --id h5-app --version 1.0.0 \
  samples/quickstart/h5-app >"$work/manifest.json"
cat "$work/manifest.json"; echo

step "signed on the publisher's machine"
"$bin/mdsctl" sign --key "$work/publisher.key" "$work/manifest.json" >"$work/manifest.dsse.json"
cat "$work/manifest.dsse.json"; echo

step "verified with the public key the app embeds"
"$bin/mdsctl" verify --trusted-key "$work/publisher.key.pub" "$work/manifest.dsse.json"

step "a tampered envelope is refused"
sed 's/"payload":"./"payload":"A/' "$work/manifest.dsse.json" >"$work/tampered.dsse.json"
if "$bin/mdsctl" verify --trusted-key "$work/publisher.key.pub" "$work/tampered.dsse.json"; then
  echo "demo: the tampered envelope was accepted" >&2
  exit 1
fi
echo "(refused, as it must be)"
