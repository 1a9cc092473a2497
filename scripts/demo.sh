#!/usr/bin/env bash
# The end-to-end demo: installs what is missing, builds, then plays the publisher (a key
# pair, a manifest of the sample H5 app, a signature, a verification, a tampered copy
# refused), the operator (mds-server on an embedded SQLite, the app registered with the
# publisher's key, the signed H5 package published and released, a switch configuration
# value, all through mdsctl) and the device (the sample client installing the package and
# receiving the value, then version 1.1.0 arriving as a delta, and a change of the value).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release/reference-server/mdsctl
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

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

step "the server: mds-server on an embedded SQLite"
head -c 32 /dev/urandom | base64 >"$work/admin.token"
build/release/reference-server/mds-server --data "$work/server" --listen 127.0.0.1:0 \
  --admin-token-file "$work/admin.token" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$address" ] || { echo "demo: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
server=http://$address
echo "listening on $server"

ctl() { "$bin/mdsctl" --server "$server" --token-file "$work/admin.token" "$@"; }

step "the operator registers the app with the publisher's public key"
ctl app create demo --platform android --publisher-key "$work/publisher.key.pub"

step "the publisher signs and publishes the H5 package 1.0.0 (the key never leaves this machine)"
ctl package publish --app demo --kind offline --id h5-app --version 1.0.0 --key "$work/publisher.key" \
  samples/quickstart/h5-app

step "the operator releases it to every device, and sets a switch configuration value"
release=$(ctl release create --app demo --package h5-app --version 1.0.0 --stage full)
echo "release $release"
ctl config set --app demo welcome.text "Hello from OpenMDS"

client() {
  build/release/samples/mds-client/mds-client --server "$server" --app demo --state "$work/device" \
    --device-id demo-device-1 --app-version 1.0.0 --trusted-key "$work/publisher.key.pub" "$@"
}

step "the device syncs (the sample host app, on the SDK's public API): package installed, value received"
client sync
step "the WebView's request for static/app.js resolves to the verified local file"
client resolve h5-app static/app.js

step "the publisher ships 1.1.0 (one file changed); the device receives it as a delta"
cp -r samples/quickstart/h5-app "$work/h5-app-1.1.0"
printf '\n/* 1.1.0: a changed line */\n' >>"$work/h5-app-1.1.0/static/app.css"
ctl package publish --app demo --kind offline --id h5-app --version 1.1.0 --key "$work/publisher.key" \
  "$work/h5-app-1.1.0"
ctl release create --app demo --package h5-app --version 1.1.0 --stage full >/dev/null
client sync
ctl stats "$release"

step "the operator changes the value; the device's next sync receives it"
ctl config set --app demo welcome.text "Hello again"
client sync
client config get welcome.text
