#!/usr/bin/env bash
# Fuzz each target for SECONDS (default 60) on one core, one after the other, with the
# binaries that `cargo fuzz build -s none` made (no rebuild between targets).
#   fuzz/run.sh [SECONDS] [TARGET...]
# Appends one line per target to logs/summary.tsv: target, seconds run, executions, coverage
# (libFuzzer's cov/ft), corpus size, crash file or "-". Crashes land in artifacts/<target>/.
# Exits non-zero if any target crashed (or failed to run).
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-60}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pickle_vm zipdir containers npy hdf5_keras keras_config onnx savedmodel gguf ubjson safetensors template marshal scan_any)
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="logs/$t.$(date +%s).log"
  start=$(date +%s)
  # FUZZ_ARGS: more libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to go on past a known crash.
  # shellcheck disable=SC2086
  "$bin/$t" "corpus/$t" ${FUZZ_ARGS:-} -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
    -max_len=262144 -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  [ "$rc" -eq 0 ] || status=1
  execs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -oP 'cov: \d+ ft: \d+' || true)
  corp=$(echo "$last" | grep -oP 'corp: \S+' || true)
  crash=$(grep -oP 'Test unit written to \K\S+' "$log" | tail -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\trc=%s\n' "$t" "$took" "${execs:-?}" "${cov:-?}" "${corp:-?}" "${crash:--}" "$rc" | tee -a logs/summary.tsv
done
exit $status
