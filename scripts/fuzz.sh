#!/usr/bin/env bash
# A short run of every libFuzzer target in the fuzz build folder, each from its seed corpus.
set -euo pipefail
dir=$1
seconds=${FUZZ_SECONDS:-30}
shopt -s nullglob
for target in "$dir"/tests/fuzz/fuzz_*; do
  [[ -x $target ]] || continue
  name=$(basename "$target")
  corpus=$(mktemp -d)
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  [[ -d $seeds ]] && cp -r "$seeds"/. "$corpus"/
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 "$corpus" 2>&1 | tail -n 5
  rm -rf "$corpus"
done
