#!/usr/bin/env bash
# Seed fuzz/corpus/<target>/ from the committed fixtures (fixtures/) and fuzz/regressions/.
# The corpus is not committed (fuzz/.gitignore); run this once before `cargo fuzz run`.
# Targets that pick their parser from the first input byte get seeds with that byte prepended.
set -euo pipefail
cd "$(dirname "$0")"
F=../fixtures
C=corpus
mkdir -p "$C"

# copy TARGET FILE... : each file as a seed, named after its path.
copy() {
  local t=$1; shift
  mkdir -p "$C/$t"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 262144 ] || continue
    cp "$f" "$C/$t/$(echo "${f#"$F"/}" | tr '/' '_')"
  done
}

# prefixed TARGET BYTE FILE... : each file with one selector byte (octal) before it.
prefixed() {
  local t=$1 b=$2; shift 2
  mkdir -p "$C/$t"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 262144 ] || continue
    { printf "\\$b"; cat "$f"; } > "$C/$t/$b-$(echo "${f#"$F"/}" | tr '/' '_')"
  done
}

shopt -s nullglob globstar
copy pickle_vm $F/pickle/**/*.pkl $F/dill/**/* $F/cloudpickle/**/* $F/pytorch-legacy/**/* \
  $F/joblib/**/*compress_none* $F/joblib/**/*arrays_none*
copy zipdir $F/zip/**/* $F/pytorch-zip/**/* $F/npz/**/* $F/torchscript/**/* $F/keras/**/*.keras
# containers: 0 tar, 1 gzip, 2 bzip2, 3 xz, 4 lzma, 5 zstd, 6 zlib, 7 7z, 8 joblib z-file
# (fuzz_targets/containers.rs).
prefixed containers 000 $F/tar/**/*.tar $F/pytorch-legacy-tar/**/*.tar
prefixed containers 001 $F/pickle-gz/**/* $F/joblib/**/*gzip* $F/joblib/**/*compress_level3*
prefixed containers 002 $F/pickle-bz2/**/* $F/joblib/**/*bz2*
prefixed containers 003 $F/pickle-xz/**/* $F/joblib/**/*_xz*
prefixed containers 004 $F/joblib/**/*lzma*
prefixed containers 005 $F/pickle-zstd/**/*
prefixed containers 006 $F/joblib/**/*zlib*
prefixed containers 007 $F/7z/**/*
prefixed containers 010 $F/joblib/**/joblib094_*
copy npy $F/numpy/**/*.npy
copy hdf5_keras $F/keras/**/*.h5
copy keras_config $F/keras/**/*.json $F/savedmodel/**/*.json
# The config.json of each .keras zip (python3's zipfile, when there is one).
if command -v python3 >/dev/null; then
  for f in $F/keras/**/*.keras; do
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("config.json"))' "$f" \
      > "$C/keras_config/$(basename "$f").config.json" 2>/dev/null || rm -f "$C/keras_config/$(basename "$f").config.json"
  done
fi
copy onnx $F/onnx/**/*.onnx
copy savedmodel $F/savedmodel/**/*.pb
copy gguf $F/gguf/**/*.gguf
copy ubjson $F/xgboost/**/*.ubj
copy safetensors $F/safetensors/**/*.safetensors
copy template $F/templates/**/*.jinja
copy marshal $F/marshal/**/*.bin
# scan_any: the selector byte is the index of the name in fuzz_targets/scan_any.rs.
prefixed scan_any 001 $F/pickle/**/*.pkl
prefixed scan_any 002 $F/zip/**/* $F/tar/**/* $F/7z/**/* $F/pickle-gz/**/*
prefixed scan_any 003 $F/onnx/**/*.onnx
prefixed scan_any 004 $F/savedmodel/**/*.pb
prefixed scan_any 005 $F/keras/**/*.json
prefixed scan_any 006 $F/keras/**/*.h5
prefixed scan_any 007 $F/gguf/**/*.gguf
prefixed scan_any 010 $F/safetensors/**/*.safetensors
prefixed scan_any 011 $F/numpy/**/*.npy
prefixed scan_any 012 $F/pytorch-zip/**/* $F/pytorch-legacy/**/*
prefixed scan_any 013 $F/templates/**/*.jinja

# Regression inputs are seeds too.
for d in regressions/*/; do
  t=$(basename "$d")
  mkdir -p "$C/$t"
  cp "$d"* "$C/$t/" 2>/dev/null || true
done
for t in "$C"/*/; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
