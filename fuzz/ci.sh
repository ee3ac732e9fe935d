#!/usr/bin/env bash
# The short fuzz run of `.ci/run`: builds the whole-scan target (`scan_any`, every parser behind
# format detection) and the pickle VM target, seeds them from ../fixtures, and fuzzes each for
# half of SECONDS (default 60). Exits non-zero if a target crashes (the input is kept in
# artifacts/ and printed); exits 0 with a notice if the fuzz toolchain cannot build here
# (cargo-fuzz missing, no C++ compiler for libFuzzer), since the test suite already replays
# every kept crash input (fuzz/regressions/) without it.
#   fuzz/ci.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
half=$(( secs / 2 ))
[ "$half" -ge 1 ] || half=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz/ci.sh: cargo-fuzz is not installed; short fuzz run skipped" >&2
  exit 0
fi
for t in scan_any pickle_vm; do
  if ! timeout "${FUZZ_BUILD_TIMEOUT:-900}" cargo fuzz build -s none "$t" >logs-ci-build.txt 2>&1; then
    echo "fuzz/ci.sh: cannot build the fuzz targets here; short fuzz run skipped:" >&2
    tail -5 logs-ci-build.txt >&2
    exit 0
  fi
done
./seed.sh >/dev/null
bin=target/x86_64-unknown-linux-gnu/release
status=0
for t in scan_any pickle_vm; do
  mkdir -p "artifacts/$t"
  # A copy of the seed corpus, so the committed tree and the local corpus stay as they were.
  work=$(mktemp -d)
  cp -r "corpus/$t/." "$work/"
  if "$bin/$t" "$work" -max_total_time="$half" -timeout=20 -rss_limit_mb=2048 \
      -max_len=262144 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
      >"logs-ci-$t.txt" 2>&1; then
    echo "fuzz/ci.sh: $t: $(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "logs-ci-$t.txt") executions in ${half}s, no crash"
  else
    status=1
    echo "fuzz/ci.sh: $t CRASHED; last lines of its log:" >&2
    tail -30 "logs-ci-$t.txt" >&2
  fi
  rm -rf "$work"
done
exit $status
