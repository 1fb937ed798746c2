#!/usr/bin/env bash
# A short run of every libFuzzer target in the fuzz build folder, each from its seed corpus.
# A fuzzer is one process on one core, so the targets run side by side, one per core: each still
# fuzzes for its full time, and the stage takes that time per batch instead of per target.
set -euo pipefail
dir=$1
seconds=${FUZZ_SECONDS:-30}
parallel=${FUZZ_JOBS:-$(nproc)}
shopt -s nullglob
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

targets=()
for target in "$dir"/tests/fuzz/fuzz_*; do
  [[ -x $target ]] && targets+=("$target")
done

# Starts one target in the background from a copy of its seeds; its output goes to <work>/<name>.log.
start() {
  local target=$1 name corpus seeds
  name=$(basename "$target")
  corpus=$work/$name.corpus
  mkdir "$corpus"
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  [[ -d $seeds ]] && cp -r "$seeds"/. "$corpus"/
  echo "fuzz: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 "$corpus" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

failed=()
for ((i = 0; i < ${#targets[@]}; i += parallel)); do
  pids=()
  names=()
  for target in "${targets[@]:i:parallel}"; do start "$target"; done
  for j in "${!pids[@]}"; do
    name=${names[j]}
    if wait "${pids[j]}"; then
      echo "fuzz: $name"
      tail -n 5 "$work/$name.log"
    else  # a finding: its whole report (the input that triggered it is written to the current folder)
      echo "fuzz: $name FAILED"
      cat "$work/$name.log"
      failed+=("$name")
    fi
  done
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi
