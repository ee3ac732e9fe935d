#!/usr/bin/env bash
# Times this scanner against ModelScan 0.8.8 (the Python tool) on large, realistic model files
# and prints a markdown table: wall time, CPU time (user+sys) and peak RSS side by side, with
# ratios, plus start-up time.
#
# Inputs are generated deterministically by benches/gen_inputs.py with the real libraries
# (numpy, torch, scikit-learn, joblib, onnx, h5py) into a scratch folder outside the repository,
# about 12 GB in all; they are deleted at the end unless KEEP=1 (a later run reuses kept inputs).
# Writing the protocol 2 pickle of the 2 GB array takes ~10 GB of memory for a moment (pickle
# builds the latin-1 text of the data in memory); the whole generation takes a few minutes.
#
# Usage: benches/compare.sh [SCRATCH_DIR]          (default ${TMPDIR:-/tmp}/modelscan-bench)
# Environment:
#   BENCH_VENV=/path/venv  a venv that already has numpy, torch, scikit-learn, joblib, onnx and
#                          h5py (used to generate inputs; only what ROWS needs); ModelScan is then taken from it if it has
#                          modelscan==0.8.8, else installed into SCRATCH_DIR/venv-modelscan.
#                          Without BENCH_VENV, SCRATCH_DIR/venv is created (or reused) with
#                          everything: pip install numpy torch scikit-learn joblib onnx h5py
#                          modelscan==0.8.8 (torch from PyPI is several GB).
#   OURS=/path/modelscan   the binary to time (default: cargo build --release, target/release).
#   OURS_ARGS="--no-hash"  extra arguments for ours (e.g. to time it without the sha256 pass).
#   OUR_RUNS=10            runs of ours per input (median wall time, mean CPU time).
#   MS_REPEAT=3            runs of ModelScan per input (its 2 GB rows take a minute: 1 is fine).
#   MS_TF_VENV=/path/venv  a venv with modelscan[tensorflow,h5py]==0.8.8 (ModelScan with its
#                          extras, timed as a second column); default SCRATCH_DIR/venv-modelscan-tf,
#                          created when missing. MS_TF=0 leaves that column out.
#   MODES="console json"   the report outputs timed for every input: console (to /dev/null) and
#                          `-r json -o FILE` (both tools write the JSON report to a file).
#   MS_FROM=results.tsv    reuse ModelScan's numbers from an earlier run's results.tsv instead of
#                          running it again (to compare two builds of ours against one baseline).
#   ROWS="a b"             only these inputs (names as in the table, e.g. "numpy_200mb_p4.pkl"),
#                          and only they are generated.
#   SMALL=1                a smoke run: every input at 1/100 of its size.
#   KEEP=1                 keep the generated inputs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SCRATCH=${1:-${TMPDIR:-/tmp}/modelscan-bench}
OUR_RUNS=${OUR_RUNS:-10}
MS_REPEAT=${MS_REPEAT:-3}
KEEP=${KEEP:-0}
SMALL=${SMALL:-0}
ROWS=${ROWS:-}
INPUTS_DIR="$SCRATCH/inputs"
[ "$SMALL" = 1 ] && INPUTS_DIR="$SCRATCH/inputs-small"
mkdir -p "$SCRATCH" "$INPUTS_DIR"

log() { printf '%s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
HYPERFINE=$(command -v hyperfine || true)
if [ -z "$HYPERFINE" ] && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
    HYPERFINE=$(command -v hyperfine || true)
fi

# --- Python: generator and ModelScan -------------------------------------------------------------
ms_ok() { [ -x "$1/bin/modelscan" ] && "$1/bin/modelscan" -v 2>/dev/null | grep -q '0\.8\.8'; }
if [ -n "${BENCH_VENV:-}" ]; then
    GEN_PY="$BENCH_VENV/bin/python"
    if ms_ok "$BENCH_VENV"; then
        MS_VENV="$BENCH_VENV"
    else
        MS_VENV="$SCRATCH/venv-modelscan"
        if ! ms_ok "$MS_VENV"; then
            log "creating $MS_VENV with modelscan==0.8.8"
            python3 -m venv "$MS_VENV"
            "$MS_VENV/bin/pip" install -q modelscan==0.8.8
        fi
    fi
else
    VENV="$SCRATCH/venv"
    if ! ms_ok "$VENV"; then
        log "creating $VENV (numpy torch scikit-learn joblib onnx h5py modelscan==0.8.8; torch is large)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q numpy torch scikit-learn joblib onnx h5py modelscan==0.8.8
    fi
    GEN_PY="$VENV/bin/python"
    MS_VENV="$VENV"
fi
MS="$MS_VENV/bin/modelscan"
MS_TF=${MS_TF:-1}
MS_TF_BIN=""
if [ "$MS_TF" = 1 ]; then
    MS_TF_VENV=${MS_TF_VENV:-$SCRATCH/venv-modelscan-tf}
    if ! ms_ok "$MS_TF_VENV"; then
        log "creating $MS_TF_VENV with modelscan[tensorflow,h5py]==0.8.8 (tensorflow is large)"
        python3 -m venv "$MS_TF_VENV"
        "$MS_TF_VENV/bin/pip" install -q "modelscan[tensorflow,h5py]==0.8.8"
    fi
    MS_TF_BIN="$MS_TF_VENV/bin/modelscan"
fi
read -r -a MODE_LIST <<<"${MODES:-console json}"

# --- our binary --------------------------------------------------------------------------------
if [ -z "${OURS:-}" ]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release --quiet)
    OURS="$ROOT/target/release/modelscan"
fi

# --- inputs ------------------------------------------------------------------------------------
ALL_ROWS=(
    numpy_200mb_p4.pkl numpy_200mb_p2.pkl numpy_2gb_p4.pkl numpy_2gb_p2.pkl
    torch_2gb.pt torch_legacy_200mb.pt sklearn_knn_200mb.joblib
    small_pickles_1000 shards_20 onnx_inline_1.5gb.onnx keras_weights_1.5gb.h5 empty.pkl
)
if [ -n "$ROWS" ]; then read -r -a SELECTED <<<"$ROWS"; else SELECTED=("${ALL_ROWS[@]}"); fi

gen_args=("$INPUTS_DIR")
[ "$SMALL" = 1 ] && gen_args+=(--small)
[ -n "$ROWS" ] && gen_args+=(--only "$(IFS=,; echo "${SELECTED[*]}")")
log "generating inputs in $INPUTS_DIR (kept files are reused)"
(cd "$INPUTS_DIR" && "$GEN_PY" "$HERE/gen_inputs.py" "${gen_args[@]}" >&2)

# --- measuring ---------------------------------------------------------------------------------
# One run: "wall user sys maxrss_kb exit". Output goes to /dev/null, as a CI job would discard it.
one_run() {
    local f
    f=$(mktemp)
    /usr/bin/time -f '%e %U %S %M %x' -o "$f" "$@" >/dev/null 2>&1 || true
    tail -n 1 "$f"
    rm -f "$f"
}

# Reads the input into the page cache. This machine's page cache is reclaimed within seconds
# (and its disk reads ~60 MB/s cold), so each run is preceded by a warm-up: both tools then read
# from memory as far as the kernel keeps it.
warm() { find "$1" -type f -exec cat {} + >/dev/null; }

# N runs of COMMAND on INPUT, each after a warm-up: "wall user sys maxrss_kb exit", where wall is
# the median and user/sys the means. With hyperfine, times have millisecond resolution; peak RSS
# and the exit code come from one extra /usr/bin/time run.
#   measure N INPUT COMMAND...
measure() {
    local n=$1 input=$2
    shift 2
    if [ -n "$HYPERFINE" ]; then
        local j rss_exit
        j=$(mktemp)
        [ -n "$input" ] && warm "$input"
        rss_exit=$(one_run "$@" | awk '{ print $4, $5 }')
        local prep=()
        [ -n "$input" ] && prep=(--prepare "bash $WARM_SH $input")
        "$HYPERFINE" -N -i --runs "$n" "${prep[@]}" --export-json "$j" -- "$*" >/dev/null 2>&1
        python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.4f %.4f %.4f" % (r["median"], r["user"], r["system"]), sys.argv[2])' "$j" "$rss_exit"
        rm -f "$j"
        return
    fi
    local i
    for ((i = 0; i < n; i++)); do
        [ -n "$input" ] && warm "$input"
        one_run "$@"
    done | sort -n -k1,1 | awk -v n="$n" 'NR == int((n + 1) / 2)'
}
WARM_SH="$SCRATCH/warm.sh"
# shellcheck disable=SC2016 # $1 belongs to the written script
printf '%s\n' '#!/usr/bin/env bash' 'find "$1" -type f -exec cat {} + >/dev/null' >"$WARM_SH"

fmt_size() { numfmt --to=iec --suffix=B --format='%.1f' "$1"; }
fmt_rss() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
# a / b; without hyperfine a wall time of 0.00 s (/usr/bin/time's 10 ms resolution) counts as 5 ms.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.005; r = a / b; printf (r < 10 ? "%.1fx" : "%.0fx"), r }'; }
# Seconds, with milliseconds under one second.
fmt_s() { awk -v t="$1" 'BEGIN { if (t < 1) printf "%.1f ms", t * 1000; else printf "%.2f s", t }'; }

RESULTS="$SCRATCH/results.tsv"
TABLE="$SCRATCH/results.md"
JSON_OUT="$SCRATCH/report.json"
: >"$RESULTS"
{
    echo "| input | size | report | ours wall | ModelScan wall | ratio | ModelScan[tf,h5py] wall | ratio | ours CPU | ModelScan CPU | ours peak RSS | ModelScan peak RSS | ModelScan[tf,h5py] peak RSS | exit (ours / MS / MS[tf]) |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$TABLE"

# The report arguments of one mode.
mode_args() {
    case "$1" in
    json) echo "-r json -o $JSON_OUT" ;;
    *) echo "" ;;
    esac
}

cd "$INPUTS_DIR" # both tools look for ./modelscan-settings.toml; there is none here
for name in "${SELECTED[@]}"; do
    [ -e "$name" ] || { log "missing input $name"; continue; }
    size=$(du -sb "$name" | cut -f1)
    for mode in "${MODE_LIST[@]}"; do
        margs=$(mode_args "$mode")
        log "timing $name ($(fmt_size "$size")), $mode report"
        # shellcheck disable=SC2086 # the arguments are split on purpose
        read -r ow ou os orss oexit <<<"$(measure "$OUR_RUNS" "$name" "$OURS" ${OURS_ARGS:-} -p "$name" $margs)"
        if [ -n "${MS_FROM:-}" ]; then
            read -r mw mu ms mrss mexit tw trss texit <<<"$(awk -F'\t' -v n="$name" -v m="$mode" '$1 == n && $2 == m { print $9, $10, $11, $12, $13, $14, $15, $16 }' "$MS_FROM")"
        else
            # shellcheck disable=SC2086
            read -r mw mu ms mrss mexit <<<"$(measure "$MS_REPEAT" "$name" "$MS" -p "$name" $margs)"
            tw=- trss=- texit=-
            if [ -n "$MS_TF_BIN" ]; then
                # shellcheck disable=SC2086
                read -r tw _ _ trss texit <<<"$(measure "$MS_REPEAT" "$name" "$MS_TF_BIN" -p "$name" $margs)"
            fi
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$name" "$mode" "$size" "$ow" "$ou" "$os" "$orss" "$oexit" "$mw" "$mu" "$ms" "$mrss" "$mexit" \
            "$tw" "$trss" "$texit" >>"$RESULTS"
        ocpu=$(awk -v u="$ou" -v s="$os" 'BEGIN { print u + s }')
        mcpu=$(awk -v u="$mu" -v s="$ms" 'BEGIN { print u + s }')
        if [ "$tw" = - ]; then
            tcell="-" tratio="-" trsscell="-"
        else
            tcell=$(fmt_s "$tw") tratio=$(ratio "$tw" "$ow") trsscell=$(fmt_rss "$trss")
        fi
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |\n' \
            "$name" "$(fmt_size "$size")" "$mode" "$(fmt_s "$ow")" "$(fmt_s "$mw")" "$(ratio "$mw" "$ow")" \
            "$tcell" "$tratio" "$(fmt_s "$ocpu")" "$(fmt_s "$mcpu")" "$(fmt_rss "$orss")" \
            "$(fmt_rss "$mrss")" "$trsscell" "$oexit" "$mexit" "$texit" >>"$TABLE"
    done
done
rm -f "$JSON_OUT"

# --- start-up ----------------------------------------------------------------------------------
{
    echo
    echo "Start-up (\`modelscan -v\`):"
    echo
    if [ -n "$HYPERFINE" ]; then
        j=$(mktemp)
        "$HYPERFINE" -N --warmup 5 --runs 100 "$OURS -v" --export-json "$j" >/dev/null 2>&1
        o=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f ms ± %.2f" % (r["mean"]*1e3, r["stddev"]*1e3))' "$j")
        "$HYPERFINE" -N --warmup 2 --runs 10 "$MS -v" --export-json "$j" >/dev/null 2>&1
        m=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.0f ms ± %.0f" % (r["mean"]*1e3, r["stddev"]*1e3))' "$j")
        rm -f "$j"
        echo "- ours: $o (hyperfine, 100 runs); ModelScan: $m (hyperfine, 10 runs)"
    else
        read -r ow _ <<<"$(measure 21 "" "$OURS" -v)"
        read -r mw _ <<<"$(measure 5 "" "$MS" -v)"
        echo "- ours: ${ow} s; ModelScan: ${mw} s (/usr/bin/time, median; 10 ms resolution)"
    fi
} >>"$TABLE"

# --- read floor --------------------------------------------------------------------------------
# For a folder of small files every byte must be read, so the time to merely open, read and
# close each file bounds any scanner: ModelScan's time over it is the highest ratio this machine
# allows. Taken as the better of one thread and one per core. Folders holding a file over 1 MiB
# are left out: a scanner reads only part of a large file, so reading all of it bounds nothing.
FLOOR="$SCRATCH/read_floor"
if rustc -O --edition 2021 -o "$FLOOR" "$HERE/tools/read_floor.rs" 2>/dev/null; then
    floor_lines=()
    for name in "${SELECTED[@]}"; do
        [ -d "$name" ] || continue
        [ -z "$(find "$name" -type f -size +1M -print -quit)" ] || continue
        best=""
        for t in 1 "$(nproc)"; do
            read -r fw _ <<<"$(measure "$OUR_RUNS" "$name" "$FLOOR" "$name" "$t")"
            label="$t thread"
            [ "$t" != 1 ] && label="$t threads"
            if [ -z "$best" ] || awk -v a="$fw" -v b="$best" 'BEGIN { exit !(a < b) }'; then
                best=$fw
                best_label=$label
            fi
        done
        read -r ow mw <<<"$(awk -F'\t' -v n="$name" '$1 == n && $2 == "console" { print $4, $9 }' "$RESULTS")"
        floor_lines+=("- $name: read floor $(fmt_s "$best") ($best_label); ModelScan / floor = $(ratio "$mw" "$best") (the most any scanner could show here); ours / floor = $(awk -v a="$ow" -v b="$best" 'BEGIN { printf "%.1f", a / b }')")
    done
    if [ "${#floor_lines[@]}" -gt 0 ]; then
        {
            echo
            echo "Read floor (\`benches/tools/read_floor.rs\`: list the folder, open, read and close every file, nothing else):"
            echo
            printf '%s\n' "${floor_lines[@]}"
        } >>"$TABLE"
    fi
else
    log "rustc not found: no read-floor line"
fi

cat "$TABLE"
log "raw numbers: $RESULTS; table: $TABLE"

if [ "$KEEP" != 1 ]; then
    log "removing generated inputs (KEEP=1 keeps them)"
    rm -rf "$INPUTS_DIR"
fi
