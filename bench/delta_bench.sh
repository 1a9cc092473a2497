#!/usr/bin/env bash
# Package deltas against the usual binary-diff tools (docs/benchmarks.md, "Package deltas").
#
# For real release pairs of public npm packages that look like H5 bundles (JS, CSS, HTML,
# maps, fonts, images), and for a synthetic 100 MB package, compares
#   ours:   mds-delta-bench (the real encode_delta and streaming DeltaReader, per file)
#   with:   bsdiff, xdelta3 and zstd --patch-from on deterministic tars of both versions,
#   and ours as a full download with zstd -19 of the new version's tar.
# Prints a Markdown table and writes it to $out/results.md.
#
#   bench/delta_bench.sh [--cache DIR] [--out DIR] [--level N] [--no-synthetic] [--only NAME]
#                        [--skip-reference]
#
# --only takes an npm package name of the list below, or "synthetic". --skip-reference
# does not run bsdiff, xdelta3 and zstd again (bsdiff alone takes minutes on the larger
# pairs): their sizes are deterministic for these inputs and are taken from the table
# below, measured once with the tools and versions of docs/benchmarks.md.
#
# The npm tarballs are kept in the cache (default build/bench-cache) and fetched once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cache=build/bench-cache
out=build/bench-delta
level=19
synthetic=1
only=""
skip_reference=0
while [ $# -gt 0 ]; do
  case "$1" in
  --cache) cache=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --level) level=$2; shift 2 ;;
  --no-synthetic) synthetic=0; shift ;;
  --only) only=$2; shift 2 ;;
  --skip-reference) skip_reference=1; shift ;;
  *) echo "delta_bench: unknown option $1" >&2; exit 2 ;;
  esac
done

# Consecutive releases (patch or minor) of libraries whose published files are what a
# web bundle ships: minified JS, CSS, source maps, fonts, SVG and PNG images.
pairs=(
  "jquery 3.7.0 3.7.1"
  "bootstrap 5.3.2 5.3.3"
  "leaflet 1.9.3 1.9.4"
  "vue 3.4.20 3.4.21"
  "@fortawesome/fontawesome-free 6.5.1 6.5.2"
  "echarts 5.5.0 5.5.1"
  "swiper 11.1.14 11.1.15"
)

# Sizes of bsdiff, xdelta3, zstd --patch-from and zstd -19 of the new tar, per pair, for
# --skip-reference (bsdiff 4.3, xdelta3 3.0.11, zstd 1.5.4 on Debian 12).
declare -A reference_sizes=(
  ["jquery 3.7.0 → 3.7.1"]="3857 4629 2932 173325"
  ["bootstrap 5.3.2 → 5.3.3"]="28191 92777 37253 463448"
  ["leaflet 1.9.3 → 1.9.4"]="19074 32957 18042 416104"
  ["vue 3.4.20 → 3.4.21"]="1290 1148 952 217472"
  ["@fortawesome/fontawesome-free 6.5.1 → 6.5.2"]="332016 347908 331313 1560358"
  ["echarts 5.5.0 → 5.5.1"]="44983 84077 39063 5340487"
  ["swiper 11.1.14 → 11.1.15"]="1718 2067 1896 344526"
  ["synthetic 100 MB"]="2238499 2171704 2187686 55310077"
)

./scripts/install-deps.sh --bench
cmake --preset release >/dev/null
cmake --build --preset release --target mds-delta-bench >/dev/null
bench=$root/build/release/bench/delta/mds-delta-bench

mkdir -p "$cache/tarballs" "$cache/trees" "$out"
cache=$(cd "$cache" && pwd)
out=$(cd "$out" && pwd)

# npm pack NAME@VERSION into the cache, unpacked without npm's "package/" top folder.
fetch() {
  local name=$1 version=$2 tree
  tree="$cache/trees/$(echo "$name" | tr -d @ | tr / -)-$version"
  if [ ! -d "$tree" ]; then
    local tarball
    tarball=$(cd "$cache/tarballs" && npm pack --silent "$name@$version" | tail -n 1)
    mkdir -p "$tree.tmp"
    tar -xzf "$cache/tarballs/$tarball" -C "$tree.tmp" --strip-components=1
    # npm keeps the publisher's modes; a package is plain readable files.
    chmod -R u+rwX,go+rX "$tree.tmp"
    mv "$tree.tmp" "$tree"
  fi
  echo "$tree"
}

# A tar that depends on the contents only: sorted names, fixed times and owners.
make_tar() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$1" -cf "$2" .
}

ceil_log2() {
  local value=$1 log=0
  while [ $((1 << log)) -lt "$value" ]; do log=$((log + 1)); done
  echo "$log"
}

# Runs a command under GNU time; prints "seconds max_rss_kib".
timed() {
  local report
  report=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$report" "$@" >/dev/null 2>&1
  cat "$report"
  rm -f "$report"
}

json() { # json FILE EXPRESSION (on the parsed object r)
  node -e "const r=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')); console.log($2)" "$1"
}

rows=()
refs=()
measure() { # measure LABEL OLD_DIR NEW_DIR
  local label=$1 old=$2 new=$3 work="$out/work"
  rm -rf "$work"
  mkdir -p "$work"
  echo "delta_bench: $label" >&2
  "$bench" run "$old" "$new" --work "$work/ours" --level "$level" --json >"$work/ours.json"

  make_tar "$old" "$work/old.tar"
  make_tar "$new" "$work/new.tar"
  local old_tar new_tar window
  old_tar=$(stat -c %s "$work/old.tar")
  new_tar=$(stat -c %s "$work/new.tar")
  window=$(ceil_log2 $((old_tar + new_tar)))
  [ "$window" -lt 10 ] && window=10

  local bs_enc bs_app xd_enc xd_app zs_enc zs_app full_enc
  local ours bs xd zs best ours_full zs_full
  if [ "$skip_reference" = 1 ]; then
    read -r bs xd zs zs_full <<<"${reference_sizes[$label]}"
  else
    bs_enc=$(timed bsdiff "$work/old.tar" "$work/new.tar" "$work/p.bsdiff")
    bs_app=$(timed bspatch "$work/old.tar" "$work/out.bsdiff" "$work/p.bsdiff")
    cmp -s "$work/out.bsdiff" "$work/new.tar"
    # xdelta3's source window must hold the whole old tar to find every match.
    local source_window=$((1 << (window > 26 ? window : 26)))
    xd_enc=$(timed xdelta3 -e -9 -S djw -B "$source_window" -f -s "$work/old.tar" "$work/new.tar" "$work/p.xd3")
    xd_app=$(timed xdelta3 -d -B "$source_window" -f -s "$work/old.tar" "$work/p.xd3" "$work/out.xd3")
    cmp -s "$work/out.xd3" "$work/new.tar"
    zs_enc=$(timed zstd -q -f -19 --long="$window" --patch-from="$work/old.tar" "$work/new.tar" -o "$work/p.zst")
    zs_app=$(timed zstd -q -f -d --long="$window" --patch-from="$work/old.tar" "$work/p.zst" -o "$work/out.zst")
    cmp -s "$work/out.zst" "$work/new.tar"
    full_enc=$(timed zstd -q -f -19 "$work/new.tar" -o "$work/full.zst")
    bs=$(stat -c %s "$work/p.bsdiff")
    xd=$(stat -c %s "$work/p.xd3")
    zs=$(stat -c %s "$work/p.zst")
    zs_full=$(stat -c %s "$work/full.zst")
  fi

  ours=$(json "$work/ours.json" 'r.delta.bytes')
  ours_full=$(json "$work/ours.json" 'r.full.bytes')
  best=$(printf '%s\n' "$bs" "$xd" "$zs" | sort -n | head -n 1)
  local ratio
  ratio=$(node -e "console.log((process.argv[1]/process.argv[2]).toFixed(2))" "$ours" "$best")
  local heads
  heads=$(json "$work/ours.json" 'r.header_bytes + r.entry_head_bytes')
  local kinds
  kinds=$(json "$work/ours.json" '`${r.frame_entries} / ${r.patch_entries}`')
  local files
  files=$(json "$work/ours.json" '`${r.old_files} → ${r.new_files}`')
  local tar_kb=$(((new_tar + 512) / 1000))
  local stats
  stats=$(json "$work/ours.json" '[r.delta.encode_ms/1000, r.delta.apply_ms/1000].map(x=>x.toFixed(2)).join(" s | ")+" s | "+(r.delta.peak_rss_kib/1024).toFixed(1)+" MiB | "+(r.delta.codec_peak_bytes/1048576).toFixed(1)+" MiB | "+(r.full.peak_rss_kib/1024).toFixed(1)+" MiB"')
  rows+=("| $label | $files | $tar_kb | $ours | $heads | $kinds | $bs | $xd | $zs | **$ratio** | $ours_full | $zs_full | $stats |")
  [ "$skip_reference" = 1 ] || refs+=("| $label | ${bs_enc% *} s / ${bs_enc#* } | ${bs_app% *} s / ${bs_app#* } | ${xd_enc% *} s / ${xd_enc#* } | ${xd_app% *} s / ${xd_app#* } | ${zs_enc% *} s / ${zs_enc#* } | ${zs_app% *} s / ${zs_app#* } |")
  cp "$work/ours.json" "$out/$(echo "$label" | tr -c 'a-zA-Z0-9.\n' '_').json"
  rm -rf "$work"
}

for pair in "${pairs[@]}"; do
  read -r name from to <<<"$pair"
  if [ -n "$only" ] && [ "$only" != "$name" ]; then
    continue
  fi
  old=$(fetch "$name" "$from")
  new=$(fetch "$name" "$to")
  measure "$name $from → $to" "$old" "$new"
done

if [ "$synthetic" = 1 ] && { [ -z "$only" ] || [ "$only" = synthetic ]; }; then
  synth="$cache/synthetic-100mb"
  if [ ! -d "$synth/new" ]; then
    rm -rf "$synth"
    mkdir -p "$synth"
    "$bench" synth --old "$synth/old" --new "$synth/new" --megabytes 100 --seed 1 >/dev/null
  fi
  measure "synthetic 100 MB" "$synth/old" "$synth/new"
fi

{
  echo "Sizes in bytes; **ours / best** is our delta over the smallest of bsdiff, xdelta3 and zstd."
  echo "Entry heads: what our delta spends on its header, indices and lengths (docs/delta.md) rather than frames"
  echo "and patch streams. Frames / patches: how many entries of each kind the delta holds."
  echo "Ours: encode and apply times of the delta; peak RSS of the applying process (binary,"
  echo "mapped references and heap); the zstd decoder's heap peak; peak RSS applying the full download."
  echo
  echo "| pair | files | new tar (kB) | ours delta | of which entry heads | frames / patches | bsdiff | xdelta3 | zstd patch-from | ours / best | ours full | zstd -19 tar | encode | apply | apply peak RSS | zstd heap | full apply RSS |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
  if [ ${#refs[@]} -gt 0 ]; then
    echo
    echo "Reference tools: time / peak RSS in KiB (GNU time)."
    echo
    echo "| pair | bsdiff | bspatch | xdelta3 -e | xdelta3 -d | zstd --patch-from -19 | zstd -d --patch-from |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${refs[@]}"
  fi
} | tee "$out/results.md"
