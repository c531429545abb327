#!/usr/bin/env bash
# Builds the fuzz targets with clang + libFuzzer + ASan/UBSan (build-fuzz/)
# and runs each one for a bounded time, starting from the checked-in corpus
# (tests/fuzz/corpus/TARGET). New inputs go to build-fuzz/fuzz-out/TARGET,
# never into the source tree; a finding (crash, sanitizer report, oracle
# failure, timeout) leaves its input in build-fuzz/fuzz-out/TARGET/ and
# fails the script.
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [TARGET...]
#       N seconds per target (default 10), J targets at once (default 2).
#       Targets: core typefind dec-ctr-header dec-ctr-raw dec-ecb dec-cbc
#       dec-cbc-per-buffer dec-cbc-serialize-iv dec-cbc-serialize-iv-stream
#       dec-gcm-error dec-gcm-drop dec-gcm-keys dec-gcm-file
#       dec-gcm-file-detect (default: all, the directories of
#       tests/fuzz/corpus).
#
# Fuzz longer (README "Fuzzing"): scripts/fuzz.sh --seconds 3600 dec-gcm-drop
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
jobs=2
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(ls tests/fuzz/corpus)
fi

builddir=build-fuzz
setup=(-Dfuzzing=true -Dtests=disabled -Db_sanitize=address,undefined
  -Db_lundef=false)
if [[ -d $builddir ]]; then
  meson setup --reconfigure "$builddir" "${setup[@]}" >/dev/null
else
  CC=clang CXX=clang++ meson setup "$builddir" "${setup[@]}" >/dev/null
fi
ninja -C "$builddir" $(printf 'tests/fuzz/fuzz-%s ' "${targets[@]}") >/dev/null

out=$builddir/fuzz-out
mkdir -p "$out"
run_one() {
  local t=$1 seconds=$2 out=$3 builddir=$4
  local work=$out/$t
  rm -rf "$work"
  mkdir -p "$work/corpus"
  # halt_on_error: a UBSan report is a finding, not a line in a log.
  # detect_leaks=0: GStreamer's one-time allocations (type registration on
  # the first input) would be reported as leaks of that input.
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ASAN_OPTIONS=detect_leaks=0 \
     "$builddir/tests/fuzz/fuzz-$t" "$work/corpus" "tests/fuzz/corpus/$t" \
       -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=8192 -artifact_prefix="$work/" -print_final_stats=1 \
       >"$work/log" 2>&1; then
    local execs
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$' || echo '?')
    echo "fuzz $t: ok, $execs executions in ${seconds}s"
  else
    echo "fuzz $t: FINDING (log and input in $work/)"
    grep -E 'ERROR|runtime error|oracle|unauthenticated|Test unit written' "$work/log" | head -5
    return 1
  fi
}
export -f run_one
status=0
printf '%s\n' "${targets[@]}" \
  | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$out" "$builddir" \
  || status=1
exit $status
