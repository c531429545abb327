#!/usr/bin/env bash
# Builds the plugin and runs the whole test suite twice: a normal build, then
# one with AddressSanitizer + UndefinedBehaviorSanitizer. Installs its own
# Debian packages first. Usage: scripts/test.sh   (CI runs exactly this)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
aesstream_install_deps

passed=0
failed=0
run_suite() {
  local builddir=$1; shift
  echo "=== $builddir: meson setup $*"
  if [[ -d $builddir ]]; then
    meson setup --reconfigure "$builddir" "$@" >/dev/null
  else
    meson setup "$builddir" "$@" >/dev/null
  fi
  ninja -C "$builddir"
  local rc=0
  meson test -C "$builddir" --print-errorlogs || rc=$?
  # Count test cases (gtest and unittest), not just executables.
  local log="$builddir/meson-logs/testlog.txt"
  local p f
  p=$(grep -cE '^\[       OK \]|\.\.\. ok$' "$log" || true)
  f=$(grep -cE '^\[  FAILED  \] [A-Za-z_]+\.[A-Za-z_]+ \(|\.\.\. (FAIL|ERROR)$' "$log" || true)
  echo "=== $builddir: $p test cases passed, $f failed (meson exit $rc)"
  passed=$((passed + p))
  failed=$((failed + f))
  if ((rc != 0 && f == 0)); then failed=$((failed + 1)); fi
}

run_suite build
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false

# Every fuzz target for a bounded time (clang, libFuzzer, ASan+UBSan); the
# corpus already ran as tests in both builds above. One case per target.
echo "=== fuzzing: scripts/fuzz.sh --seconds ${AESSTREAM_FUZZ_SECONDS:-20}"
fuzz_log=$(mktemp)
bash scripts/fuzz.sh --seconds "${AESSTREAM_FUZZ_SECONDS:-20}" | tee "$fuzz_log" || true
p=$(grep -c '^fuzz .*: ok' "$fuzz_log" || true)
f=$(grep -c '^fuzz .*: FINDING' "$fuzz_log" || true)
if ((p + f == 0)); then f=1; fi # the build itself failed
echo "=== fuzzing: $p targets passed, $f failed"
passed=$((passed + p))
failed=$((failed + f))
rm -f "$fuzz_log"

echo "${passed} passed, ${failed} failed"
((failed == 0))
