#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each one.
#   scripts/fuzz.sh                    every target, 15 s each
#   scripts/fuzz.sh --seconds 3600 fuzz_envelope
# New inputs go to build/fuzz/corpus/<target>/; the seeds in tests/fuzz/corpus/ are read only.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=15
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

bin=build/fuzz/tests/fuzz
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do
    [ -e "$f" ] && targets+=("$(basename "$f" .cpp)")
  done
fi

passed=0
failed=0
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  mkdir -p "$work" "build/fuzz/crashes/$t"
  seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds+=("tests/fuzz/corpus/$t")
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict+=("-dict=tests/fuzz/$t.dict")
  echo "== $t for ${seconds}s" >&2
  if "$bin/$t" -max_total_time="$seconds" -print_final_stats=0 "${dict[@]}" \
       -artifact_prefix="build/fuzz/crashes/$t/" "$work" "${seeds[@]}" >"build/fuzz/$t.log" 2>&1; then
    passed=$((passed + 1))
    tail -n 1 "build/fuzz/$t.log" >&2
  else
    failed=$((failed + 1))
    tail -n 40 "build/fuzz/$t.log" >&2
    echo "fuzz: $t FAILED (artifacts in build/fuzz/crashes/$t/)" >&2
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
