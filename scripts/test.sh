#!/usr/bin/env bash
# Builds and runs the test suites: Release, then ASan+UBSan, then TSan for the threaded layers,
# then a short libFuzzer run of the HTTP parser. `scripts/test.sh asan` runs one stage.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
stages=("$@")
if ((${#stages[@]} == 0)); then stages=(release asan tsan fuzz); fi

run_stage() {
  local preset=$1
  echo "=== brigade: $preset ==="
  cmake --preset "$preset" >/dev/null
  if [[ $preset == tsan ]]; then
    # TSan covers the threaded layers only: building everything a third time would not fit CI.
    local targets=()
    for t in test_loop test_task test_pool test_worker test_log; do
      [[ -d tests/${t#test_} ]] && targets+=("$t")
    done
    cmake --build --preset "$preset" -j "$jobs" --target "${targets[@]}"
  elif [[ $preset == fuzz ]]; then
    cmake --build --preset "$preset" -j "$jobs" --target fuzzers
  else
    cmake --build --preset "$preset" -j "$jobs"
  fi
  if [[ $preset == fuzz ]]; then
    bash scripts/fuzz.sh build/fuzz
  else
    ctest --preset "$preset"
  fi
}

for s in "${stages[@]}"; do
  start=$SECONDS
  run_stage "$s"
  echo "=== brigade: $s done in $((SECONDS - start)) s ==="
done
