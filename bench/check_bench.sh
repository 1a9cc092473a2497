#!/usr/bin/env bash
# POST /v1/check throughput against nginx serving a static file of the same size, on this
# machine, in one run. Rerunnable by anyone: installs its tools (wrk, nginx) through
# scripts/install-deps.sh --bench, builds the release preset, and leaves nothing behind
# but its report. Not part of the test suite. Results and method: docs/benchmarks.md.
#
#   bench/check_bench.sh [--duration SECONDS] [--connections N] [--wrk-threads N]
#                        [--server-threads N] [--whitelist-size N] [--runs N] [--keep DIR]
set -euo pipefail

duration=20
connections=64
wrk_threads=2
server_threads=0
whitelist_size=1000000
runs=1
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --whitelist-size) whitelist_size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;; # pairs of wrk runs (check, then nginx); the median ratio is reported
    --keep) keep=$2; shift 2 ;; # copy the work directory (data, logs, configs) here at the end
    *) echo "check_bench: unknown option $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" --bench
(cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release -j2 --target mds-server mdsctl >/dev/null)
server_binary="$root/build/release/reference-server/mds-server"
mdsctl="$root/build/release/reference-server/mdsctl/mdsctl"

work=$(mktemp -d)
chmod 755 "$work" # nginx's workers may run as another user when started by root
server_pid=""
nginx_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp -r "$work"/. "$keep"/; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the server, with a realistic rule set ------------------------------------------
token="bench-token-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "bench $token" >"$work/tokens"
server_args=(--data "$work/data" --listen 127.0.0.1:0 --admin-token-file "$work/tokens" --max-pending-checks 100000)
if [ "$server_threads" != 0 ]; then server_args+=(--threads "$server_threads"); fi
"$server_binary" "${server_args[@]}" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
address=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$address" ] || { echo "check_bench: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
base="http://$address"

admin() { # METHOD PATH [BODY]: fails the script on anything but 2xx
  local status
  status=$(curl -sS -o "$work/last_answer" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$base$2")
  case "$status" in 2*) ;; *) echo "check_bench: $1 $2 -> $status: $(cat "$work/last_answer")" >&2; exit 1 ;; esac
}

"$mdsctl" keygen --out "$work/publisher.key" >/dev/null
key_pem=$(awk '{printf "%s\\n", $0}' "$work/publisher.key.pub")
admin POST /v1/admin/apps "{\"name\":\"bench\",\"platform\":\"android\",\"publisher_keys\":[\"$key_pem\"]}"

# 4 offline packages in two versions each, signed with mdsctl and published through the
# admin API (blobs, then the envelope): devices hold 1.0.0, releases offer 1.1.0.
for p in 0 1 2 3; do
  for version in 1.0.0 1.1.0; do
    dir="$work/packages/h5-$p/$version"
    mkdir -p "$dir/static"
    for f in 0 1 2 3 4 5; do
      seq -f "line %g of file $f in package $p" 1 400 >"$dir/static/part-$f.js"
    done
    echo "<html>h5-$p $version</html>" >"$dir/index.html"
    "$mdsctl" manifest --app bench --kind offline --id "h5-$p" --version "$version" "$dir" >"$dir.manifest"
    "$mdsctl" sign --key "$work/publisher.key" "$dir.manifest" >"$dir.envelope"
    (cd "$dir" && find . -type f | sort) | while read -r file; do
      hash=$(sha256sum "$dir/$file" | cut -d' ' -f1)
      curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
        --data-binary @"$dir/$file" "$base/v1/admin/blobs/$hash"
    done
    admin POST /v1/admin/apps/bench/packages "{\"envelope\":\"$(sed 's/\\/\\\\/g; s/"/\\"/g' "$dir.envelope")\"}"
  done
done

# The devices wrk plays: a few on the big list, all with the SDKs the variants look at.
devices=16
# A device list of $whitelist_size ids, the first devices among them, and a small user list.
{
  echo "device_id"
  for i in $(seq 1 4); do echo "bench-device-$i"; done
  seq -f 'dev-%09.0f' 1 "$((whitelist_size - 4))"
} >"$work/big.csv"
curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $token" --data-binary @"$work/big.csv" \
  "$base/v1/admin/whitelists/big/entries?type=device"
printf 'user_id\nu-1\nu-2\nu-3\n' >"$work/qa.csv"
curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $token" --data-binary @"$work/qa.csv" \
  "$base/v1/admin/whitelists/qa/entries?type=user"
admin POST /v1/admin/rules '{"name":"huawei-new","filters":["brand ci in huawei,honor","os_version version_gte 12"]}'
admin POST /v1/admin/rules '{"name":"wifi-cn","filters":["network eq wifi","region prefix CN-"]}'
admin POST /v1/admin/rules '{"name":"modern","filters":["app_version version_in \">=10 <12\"","sdk.mds version_gte 0.1"]}'

# 100 config keys, every tenth with a version matrix of three variants.
for k in $(seq -w 0 99); do
  value="{\"enabled\":true,\"limit\":$((10#$k * 7)),\"label\":\"value of key $k\",\"list\":[1,2,3,4]}"
  if [ $((10#$k % 10)) = 0 ]; then
    admin PUT "/v1/admin/apps/bench/config/key.$k" "{\"value\":$value,\"variants\":[
      {\"when\":[\"app_version version_in \\\"<10\\\"\"],\"value\":\"old\"},
      {\"when\":[\"app_version version_in \\\">=10\\\"\",\"sdk.feed version_in \\\"<2\\\"\"],\"value\":\"rolled-back\"},
      {\"when\":[\"sdk.feed version_in \\\">=2 <3\\\"\"],\"value\":\"v2\"}]}"
  else
    admin PUT "/v1/admin/apps/bench/config/key.$k" "{\"value\":$value}"
  fi
done

# 200 releases, every fifth of a package (the others of config), mixing doors and
# filters: whitelists, percentages, time windows, filters, rules, full stage.
now=$(date -u +%s)
window_start=$(date -u -d "@$((now - 3600))" +%Y-%m-%dT%H:%M:%SZ)
window_end=$(date -u -d "@$((now + 86400))" +%Y-%m-%dT%H:%M:%SZ)
for r in $(seq 0 199); do
  key=$(printf 'key.%02d' $((r % 100)))
  if [ $((r % 5)) = 4 ]; then
    config="\"package\":{\"id\":\"h5-$((r % 4))\",\"version\":\"1.1.0\"}"
  else
    config="\"config\":{\"$key\":{\"release\":$r}}"
  fi
  case $((r % 8)) in
    0) door="\"stage\":\"gray\",\"whitelists\":[\"big\"]" ;;
    1) door="\"stage\":\"gray\",\"percent\":$((r % 50 + 1))" ;;
    2) door="\"stage\":\"gray\",\"window\":{\"start\":\"$window_start\",\"end\":\"$window_end\",\"cap\":1000}" ;;
    3) door="\"stage\":\"gray\",\"whitelists\":[\"qa\"],\"percent\":5" ;;
    4) door="\"stage\":\"full\",\"rules\":[\"huawei-new\"]" ;;
    5) door="\"stage\":\"full\",\"filters\":[\"channel in store,google\",\"app_version version_gte 10.1\"]" ;;
    6) door="\"stage\":\"gray\",\"percent\":20,\"rules\":[\"modern\",\"wifi-cn\"]" ;;
    7) door="\"stage\":\"full\",\"filters\":[\"attr.tier not in gold\",\"language prefix zh\"]" ;;
  esac
  admin POST /v1/admin/releases "{\"app\":\"bench\",$config,$door}"
done

# --- the load: wrk with a Lua script cycling over the devices' check bodies -----------
cat >"$work/check.lua" <<LUA
local requests = {}
local devices = $devices
function init(args)
  for i = 1, devices do
    local body = '{"app":"bench","platform":"android","app_version":"' .. (i % 3 == 0 and "9.5.0" or "10.2.3") ..
      '","sdks":{"mds":"0.1.0","feed":"' .. (i % 2 == 0 and "1.8.0" or "2.4.0") .. '"},' ..
      '"device":{"id":"bench-device-' .. i .. '","user_id":"u-' .. i .. '","brand":"Huawei","os_version":"13",' ..
      '"network":"wifi","region":"CN-ZJ","language":"zh-CN","channel":"store"},"attributes":{"tier":"silver"},' ..
      '"installed":{"offline":{"h5-0":"1.0.0","h5-1":"1.0.0","h5-2":"1.0.0","h5-3":"1.0.0"}}}'
    requests[i] = wrk.format("POST", "/v1/check", {["Content-Type"] = "application/json"}, body)
  end
end
local n = 0
function request()
  n = n % devices + 1
  return requests[n]
end
LUA

# One check per device first: time-window places are taken, and the answer size is known.
for i in $(seq 1 "$devices"); do
  curl -sS -o "$work/answer.json" -w '%{http_code}\n' -H 'Content-Type: application/json' \
    --data-binary "$(awk -v i="$i" 'BEGIN{
      v = (i % 3 == 0) ? "9.5.0" : "10.2.3"; f = (i % 2 == 0) ? "1.8.0" : "2.4.0";
      printf "{\"app\":\"bench\",\"platform\":\"android\",\"app_version\":\"%s\",\"sdks\":{\"mds\":\"0.1.0\",\"feed\":\"%s\"},\"device\":{\"id\":\"bench-device-%d\",\"user_id\":\"u-%d\",\"brand\":\"Huawei\",\"os_version\":\"13\",\"network\":\"wifi\",\"region\":\"CN-ZJ\",\"language\":\"zh-CN\",\"channel\":\"store\"},\"attributes\":{\"tier\":\"silver\"},\"installed\":{\"offline\":{\"h5-0\":\"1.0.0\",\"h5-1\":\"1.0.0\",\"h5-2\":\"1.0.0\",\"h5-3\":\"1.0.0\"}}}", v, f, i, i }')" \
    "$base/v1/check" >>"$work/first_checks"
done
grep -qv '^200$' "$work/first_checks" && { echo "check_bench: a first check failed" >&2; exit 1; }
answer_size=$(wc -c <"$work/answer.json")

# --- nginx: the same number of bytes from a static file -------------------------------
mkdir -p "$work/www" "$work/nginx/logs"
head -c "$answer_size" "$work/answer.json" >"$work/www/answer.json"
chmod 644 "$work/www/answer.json"
nginx_port=""
for candidate in $(seq 18080 18180); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then nginx_port=$candidate; break; fi
done
[ -n "$nginx_port" ] || { echo "check_bench: no free port for nginx" >&2; exit 1; }
cat >"$work/nginx/nginx.conf" <<NGINX
daemon off;
worker_processes $(nproc);
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/client_body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  default_type application/json;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
nginx_pid=$!
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/answer.json" && break
  sleep 0.1
done

run_wrk() { # NAME URL [SCRIPT]
  local name=$1 url=$2
  shift 2
  wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency "$@" "$url" >"$work/wrk-$name.txt"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$work/wrk-$1.txt"; }
p99() { awk '$1 == "99%" {print $2}' "$work/wrk-$1.txt"; }
non2xx() { awk '/Non-2xx/ {print $NF}' "$work/wrk-$1.txt"; }

# Each run measures the check and then nginx, back to back, so the ratio of a run compares
# the two under the same load from the rest of the machine.
: >"$work/runs"
for run in $(seq 1 "$runs"); do
  loadavg=$(cut -d' ' -f1 /proc/loadavg)
  run_wrk check "$base/v1/check" -s "$work/check.lua"
  run_wrk nginx "http://127.0.0.1:$nginx_port/answer.json"
  check_rps=$(rps check)
  nginx_rps=$(rps nginx)
  ratio=$(awk -v a="$check_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "$ratio $check_rps $(p99 check) $nginx_rps $(p99 nginx) $loadavg" >>"$work/runs"
  if [ -n "$(non2xx check)" ]; then echo "run $run: non-2xx check answers: $(non2xx check)"; fi
done
# The median run by ratio (the lower middle one for an even count).
read -r ratio check_rps check_p99 nginx_rps nginx_p99 loadavg < <(sort -n "$work/runs" | sed -n "$(((runs + 1) / 2))p")
cat <<REPORT
machine:        $(nproc) cores, $(uname -srm)
rule set:       160 config and 40 package releases (4 packages, deltas), 100 keys (10 with 3 variants), whitelist of $whitelist_size device ids, 3 rules
load:           wrk -t$wrk_threads -c$connections -d${duration}s, $devices devices, answer $answer_size bytes
REPORT
if [ "$runs" -gt 1 ]; then
  echo "runs (ratio, check req/s, p99, nginx req/s, p99, load average):"
  sed 's/^/  /' "$work/runs"
  echo "median run:"
fi
cat <<REPORT
POST /v1/check: $check_rps req/s, p99 $check_p99
nginx static:   $nginx_rps req/s, p99 $nginx_p99
ratio:          $ratio of nginx (load average $loadavg at the start)
REPORT
