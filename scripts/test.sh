#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: plain, then under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzzer briefly.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

passed=0
failed=0
count_ctest() { # adds ctest's "N% tests passed, F tests failed out of T" to the totals
  local line total fails
  line=$(grep -E 'tests failed out of [0-9]+' "$1" | tail -n 1) || return 0
  fails=$(sed -E 's/.* ([0-9]+) tests failed out of.*/\1/' <<<"$line")
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

status=0
for preset in debug asan; do
  echo "== $preset: build" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "== $preset: test" >&2
  log=build/$preset/ctest.log
  ctest --preset "$preset" 2>&1 | tee "$log" || status=1
  count_ctest "$log"
done

echo "== fuzz: each target briefly under ASan + UBSan" >&2
fuzz_log=build/fuzz.log
mkdir -p build
./scripts/fuzz.sh --seconds "${MDS_FUZZ_SECONDS:-15}" | tee "$fuzz_log" || status=1
if line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$fuzz_log"); then
  passed=$((passed + $(sed -E 's/fuzz: ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed/\1/' <<<"$line")))
fi

echo "all: $passed passed, $failed failed"
exit "$status"
