#!/usr/bin/env bash
# mds-client as outside tests drive it, without a server: command-line refusals, the sync
# output's shape when the server is unreachable, the cached configuration, the lock.
#   mds_client_test.sh MDS_CLIENT KEYS_DIR
set -uo pipefail
client=$1
keys=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

passed=0
failed=0
# expect_exit NAME STATUS COMMAND... : exit status must be STATUS
expect_exit() {
  local name=$1 want=$2; shift 2
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $name: exit $got, wanted $want"; cat out.txt err.txt; fi
}
# expect_in NAME FILE TEXT : FILE contains TEXT
expect_in() {
  if grep -qF -- "$3" "$2"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1: $2 lacks $3"; cat "$2"; fi
}

# A loopback port with nobody listening (bound, then released).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 9)
base=(--server "http://127.0.0.1:$port" --app demo --state "$work/state" --app-version 10.2.3
      --trusted-key "$keys/p256-public.pem" --timeout 30)

expect_exit "no subcommand" 2 "$client" "${base[@]}" --device-id d1
expect_in "usage names the problem" err.txt "invalid_argument (100)"
expect_exit "unknown option" 2 "$client" "${base[@]}" --device-id d1 --colour red sync
expect_in "unknown option named" err.txt "--colour"
expect_exit "sync without device id" 2 "$client" "${base[@]}" sync
expect_exit "bad --sdk" 2 "$client" "${base[@]}" --device-id d1 --sdk payment sync
expect_exit "bad --attr" 2 "$client" "${base[@]}" --device-id d1 --attr =x sync
expect_exit "missing key file" 1 "$client" "${base[@]/p256-public.pem/absent.pem}" --device-id d1 sync
expect_exit "RSA key refused" 1 "$client" "${base[@]/p256-public.pem/rsa-public.pem}" --device-id d1 sync
expect_in "RSA key refused as invalid argument" err.txt "invalid_argument (100)"
expect_exit "bad app version" 1 "$client" "${base[@]/10.2.3/ten}" --device-id d1 sync
expect_exit "json errors" 2 "$client" --json "${base[@]}" --device-id d1
expect_in "json error document" err.txt '{"error": {"code": 100, "name": "invalid_argument"'

expect_exit "config get before any sync" 1 "$client" "${base[@]}" config get welcome.text
expect_in "config get names the key" err.txt 'not_found (102): no configuration value for "welcome.text"'

expect_exit "sync with the server down" 1 "$client" "${base[@]}" --device-id d1 --user-id u1 \
  --sdk mds=0.1.0 --attr tier=gold sync
expect_in "sync output shape" out.txt '{"ok": false, "offline": {}, "hotpatch": {"version": null, "state": "none"}, "config": {}, "upgrade": null, "errors": [{"code": 600, "name": "network_unreachable"'
expect_in "sync error on stderr" err.txt "network_unreachable (600)"

expect_exit "hotpatch launch with nothing installed" 0 "$client" "${base[@]}" hotpatch launch
expect_in "no patch to load" out.txt "null"
expect_exit "hotpatch confirm with nothing active" 1 "$client" "${base[@]}" hotpatch confirm
expect_in "confirm refused" err.txt "hotpatch_not_active (416)"
expect_exit "hotpatch confirm --json" 1 "$client" --json "${base[@]}" hotpatch confirm
expect_in "confirm refused in json" err.txt '{"error": {"code": 416, "name": "hotpatch_not_active"'
expect_exit "unknown hotpatch subcommand" 2 "$client" "${base[@]}" hotpatch rollback
expect_exit "bad --hotpatch-max-launches" 2 "$client" "${base[@]}" --hotpatch-max-launches 0 hotpatch launch

expect_exit "upgrade with the server down" 1 "$client" "${base[@]}" --device-id d1 upgrade
expect_in "upgrade error on stderr" err.txt "network_unreachable (600)"
expect_exit "resolve, nothing installed" 1 "$client" "${base[@]}" resolve h5 index.html
expect_in "resolve names the package" err.txt "not_found (102): h5 is not installed"
expect_exit "resolve to the fallback" 0 "$client" "${base[@]}" --fallback h5=https://cdn.example.com/h5/ \
  resolve h5 /static/app.js
expect_in "fallback URL" out.txt "https://cdn.example.com/h5/static/app.js"
expect_exit "resolve --json" 0 "$client" --json "${base[@]}" --fallback h5=https://cdn.example.com/h5 \
  resolve h5 index.html
expect_in "resolve json" out.txt '{"path": "https://cdn.example.com/h5/index.html"}'
expect_exit "resolve a traversal" 1 "$client" "${base[@]}" resolve h5 ../x
expect_in "traversal refused" err.txt "invalid_argument (100)"
expect_exit "resolve without a path" 2 "$client" "${base[@]}" resolve h5
expect_exit "bad --preset" 2 "$client" "${base[@]}" --preset nodir resolve h5 x
expect_exit "missing preset envelope" 1 "$client" "${base[@]}" --preset absent.json=dir resolve h5 x

# A state directory held by a running mds-client refuses a second mds-client process.
# The first one syncs with a server that takes the connection and never answers, so it
# holds the directory until it is stopped.
if command -v python3 >/dev/null && command -v flock >/dev/null; then
  python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(120)' >silent_port.txt &
  silent_pid=$!
  for _ in $(seq 100); do [ -s silent_port.txt ] && break; sleep 0.1; done
  silent=(--server "http://127.0.0.1:$(cat silent_port.txt)" --app demo --state "$work/held"
          --app-version 10.2.3 --trusted-key "$keys/p256-public.pem" --device-id d1)
  "$client" "${silent[@]}" --timeout 60 sync >first.out 2>first.err &
  first_pid=$!
  # Held once a non-blocking lock attempt on the lock file fails.
  for _ in $(seq 100); do
    [ -e "$work/held/mds.lock" ] && ! flock -n "$work/held/mds.lock" true && break
    sleep 0.1
  done
  expect_exit "second mds-client on the state directory" 1 "$client" "${silent[@]}" --timeout 5 sync
  expect_in "second process gets locked" err.txt "locked (107)"
  kill "$first_pid" "$silent_pid" 2>/dev/null
  wait "$first_pid" "$silent_pid" 2>/dev/null
  # Once the first is gone, the directory is usable again (the lock dies with its owner).
  expect_exit "state directory free again" 1 "$client" "${silent[@]}" config get absent.key
  expect_in "free again: not_found, not locked" err.txt "not_found (102)"
else
  echo "skipped: the second-process lock test needs python3 and flock"
fi

echo "mds-client: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
