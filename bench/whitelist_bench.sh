#!/usr/bin/env bash
# Whitelist import time through mdsctl and the real server, next to the sqlite3 shell
# loading the same ids into an indexed table, on this machine, in one run. Three cases: a
# new list, the same ids again (an operator re-uploading), and a list of other ids
# replacing it. Builds the release preset; leaves nothing behind but its report. Not part
# of the test suite. Results and method: docs/benchmarks.md.
#
#   bench/whitelist_bench.sh [--ids N] [--runs N]
set -euo pipefail

ids=1000000
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --ids) ids=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "whitelist_bench: unknown option $1" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
(cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release -j2 --target mds-server mdsctl >/dev/null)
server_binary="$root/build/release/reference-server/mds-server"
mdsctl_binary="$root/build/release/reference-server/mdsctl/mdsctl"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Device ids as apps report them: a fixed prefix and 16 random hex digits, in random order.
for seed in 1 2; do
  python3 - "$ids" "$seed" >"$work/ids-$seed.txt" <<'EOF'
import random, sys
count, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
sys.stdout.write("".join("dev-%016x\n" % rng.getrandbits(64) for _ in range(count)))
EOF
done

echo "bench bench-token-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/tokens"
"$server_binary" --data "$work/data" --listen 127.0.0.1:0 --admin-token-file "$work/tokens" \
  >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
address=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$address" ] || { echo "whitelist_bench: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
cut -d' ' -f2 "$work/tokens" >"$work/token"

seconds() { # COMMAND...: runs it, prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
median() { tr ' ' '\n' | sort -n | awk 'NF { v[++n] = $1 } END { print v[int((n + 1) / 2)] }'; }
import() { "$mdsctl_binary" --server "http://$address" --token-file "$work/token" whitelist import "$1" --type device "$2"; }
sqlite_load() {
  rm -f "$work/reference.db"*
  sqlite3 "$work/reference.db" "PRAGMA journal_mode = WAL;" "PRAGMA synchronous = FULL;" \
    "CREATE TABLE ids (entry TEXT PRIMARY KEY) WITHOUT ROWID;" ".import $1 ids"
}

declare -A times
for run in $(seq "$runs"); do
  times[new]+="$(seconds import "list-$run" "$work/ids-1.txt") "
  times[same]+="$(seconds import "list-$run" "$work/ids-1.txt") "
  times[other]+="$(seconds import "list-$run" "$work/ids-2.txt") "
  times[sqlite3]+="$(seconds sqlite_load "$work/ids-1.txt") "
done

reference=$(echo "${times[sqlite3]}" | median)
echo "whitelist import of $ids ids, median of $runs runs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-44s %8s %8s\n' "case" "seconds" "ratio"
for case in new same other; do
  value=$(echo "${times[$case]}" | median)
  printf '%-44s %8s %8.2f\n' "mdsctl whitelist import ($case)" "$value" "$(awk -v a="$value" -v b="$reference" 'BEGIN { print a / b }')"
done
printf '%-44s %8s %8s\n' "sqlite3 .import into an indexed table" "$reference" "1.00"
