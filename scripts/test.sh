#!/usr/bin/env bash
# Builds and runs the test suites: Release, then ASan+UBSan, then TSan for the threaded layers,
# then a short libFuzzer run of every parser. `scripts/test.sh asan` runs one stage.
# Once the first stage is built, the later stages build in the background while tests run: the
# tests mostly wait (on sockets, children, timers) and leave about one core of two idle, and a
# build at idle priority (SCHED_IDLE: it runs only on a core nothing else wants) takes that time
# without slowing them. A stage's tests start once its own build is done. Each step prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

build() {
  local preset=$1 args=()
  if [[ $preset == tsan ]]; then
    # TSan covers the threaded layers only: building everything a third time would not fit CI.
    args=(--target)
    for t in test_loop test_task test_pool test_worker test_log; do
      [[ -d tests/${t#test_} ]] && args+=("$t")
    done
  elif [[ $preset == fuzz ]]; then
    args=(--target fuzzers)
  fi
  cmake --preset "$preset" >/dev/null || return
  cmake --build --preset "$preset" -j "$jobs" "${args[@]}"
}

# `test.sh --build <stage>...`: builds the stages in order, writing build/.built-<stage> with the
# build's exit status after each; stops at the first failure. Run by the main script below.
if [[ ${1:-} == --build ]]; then
  shift
  for preset in "$@"; do
    echo "=== brigade: building $preset ==="
    rc=0
    build "$preset" || rc=$?
    echo "$rc" >"build/.built-$preset"
    ((rc == 0)) || exit "$rc"
  done
  exit 0
fi

stages=("$@")
if ((${#stages[@]} == 0)); then stages=(release asan tsan fuzz); fi

bg_pid=
bg_log=build/background-build.log
stop_builds() { if [[ -n $bg_pid ]]; then kill -- "-$bg_pid" 2>/dev/null || true; fi; }
trap stop_builds EXIT

# Waits until the background builds have built `preset`; shows their log and fails if that failed.
wait_built() {
  local preset=$1 marker=build/.built-$1
  until [[ -f $marker ]]; do
    if ! kill -0 "$bg_pid" 2>/dev/null; then break; fi
    sleep 1
  done
  if [[ ! -f $marker || $(cat "$marker") != 0 ]]; then
    cat "$bg_log"
    echo "=== brigade: building $preset failed (the background build's log is above) ==="
    exit 1
  fi
}

total=$SECONDS
for i in "${!stages[@]}"; do
  s=${stages[i]}
  echo "=== brigade: $s ==="
  start=$SECONDS
  if ((i == 0)); then
    build "$s"
    rest=("${stages[@]:1}")
    if ((${#rest[@]} > 0)); then
      mkdir -p build
      rm -f build/.built-*
      setsid chrt --idle 0 bash scripts/test.sh --build "${rest[@]}" >"$bg_log" 2>&1 &
      bg_pid=$!
    fi
  else
    wait_built "$s"
  fi
  echo "=== brigade: $s built, $((SECONDS - start)) s waited ==="
  start=$SECONDS
  if [[ $s == fuzz ]]; then
    bash scripts/fuzz.sh build/fuzz
  else
    ctest --preset "$s"
  fi
  echo "=== brigade: $s tests done in $((SECONDS - start)) s ==="
done
echo "=== brigade: every stage done in $((SECONDS - total)) s ==="
