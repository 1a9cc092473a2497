#!/usr/bin/env bash
# Installs, idempotently, every Debian 12 package OpenMDS needs to build, test and demo.
# Does nothing when all are present; uses sudo when not root.
#   --bench   also the reference tools bench/delta_bench.sh compares against (bsdiff,
#             xdelta3, the zstd CLI, GNU time) and npm, which fetches the release pairs.
#             Also wrk (HTTP load generator) and nginx (the baseline) for bench/check_bench.sh.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev
  libcurl4-openssl-dev libsqlite3-dev libmbedtls-dev libzstd-dev
  rapidjson-dev catch2 libmicrohttpd-dev libzip-dev libre2-dev
  sqlite3 curl openssl python3
)

for arg in "$@"; do
  case "$arg" in
  --bench)
    packages+=(bsdiff xdelta3 zstd time tar wrk nginx)
    # A nodejs build that bundles npm (as some distributions of it do) conflicts with
    # Debian's npm package: ask for npm only when there is no npm command at all.
    if ! command -v npm >/dev/null; then
      packages+=(nodejs npm)
    fi
    ;;
  *)
    echo "install-deps: unknown option $arg (known: --bench)" >&2
    exit 2
    ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
