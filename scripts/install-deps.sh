#!/usr/bin/env bash
# Installs, idempotently, every Debian 12 package OpenMDS needs to build, test and demo.
# Does nothing when all are present; uses sudo when not root.
#   --bench   also what bench/ needs: wrk (HTTP load generator) and nginx (the baseline)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev
  libcurl4-openssl-dev libsqlite3-dev libmbedtls-dev libzstd-dev
  rapidjson-dev catch2 libmicrohttpd-dev
  sqlite3 curl openssl
)
for argument in "$@"; do
  case "$argument" in
    --bench) packages+=(wrk nginx) ;;
    *) echo "install-deps: unknown option $argument (known: --bench)" >&2; exit 2 ;;
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
