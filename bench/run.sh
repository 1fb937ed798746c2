#!/usr/bin/env bash
# Side-by-side benchmarks: each runs the same workload on brigade, Node.js and (for servers) a
# minimal libuv program, in one run, and prints the medians and brigade/node as a table.
#
# Usage: bench/run.sh [NAME...]      (no NAME: all of them)
#   names: timers chains fs_read spawn echo http_c50 http_c1000 http_pipeline
#          http_metrics (plaintext with Prometheus metrics on vs off, brigade only)
#          http_churn (Connection: close, brigade only: multishot accept vs accept4 vs epoll)
#          http_json http_users http_idle http_heavy  (http = all seven http_*)
#          worker_messages worker_atomics worker_pool worker_offload  (worker = the four worker_*)
#          cluster (cluster_w1, cluster_w2)  db (db_pg, db_sqlite; needs PostgreSQL and
#          `npm install --prefix bench/.scratch pg better-sqlite3@12`)  crypto (pbkdf2 on the pool)
#          fetch (fetch_undici, fetch_agent: an HTTP client against the libuv responder)
#          ws (ws_echo, ws_broadcast, ws_idle, ws_idle_coroutine: WebSocket vs Node + ws;
#          WS_CONNECTIONS=10000)
#          redis (redis_getset vs ioredis, queue jobs/latency vs BullMQ; needs redis-server;
#          installs ioredis@5 bullmq@5 into bench/.scratch when missing)
#          tls (https_c50, https_c50_lean, https_handshakes, https_idle: the hello server over HTTPS vs Node's
#          https, an ECDSA P-256 certificate made at run time; TLS_IDLE_CONNECTIONS=10000)
#          express (express_json_post, express_static, express_gzip: http::App vs Express 4 on a
#          JSON POST echo, a 100 KiB file and a gzipped 100 KiB JSON answer (+ `compression`);
#          installs express@4 compression@1 into bench/.scratch when missing)
# Environment: RUNS=3 (runs per figure, the median is quoted), LOAD_SECONDS=5 (per server load),
#   NO_BUILD=1 (skip the build step), BENCH_BUILD=DIR (binaries from a Release build folder
#   of one's own instead of build/bench; with it the build step configures that folder),
#   IDLE_CONNECTIONS=10000 (http_idle), HEAVY_N_BRIGADE=45 HEAVY_N_NODE=41 (http_heavy's fib
#   arguments: ~2-3 s each on a quiet machine; V8's fib is ~8x slower than g++ -O3's),
#   WRK_THREADS=1 (wrk's threads, all on core 1; 2: the load generator is less of a ceiling,
#   and the http_c50/c1000/pipeline rows are named *_t2).
# Peers of the plaintext HTTP groups (http_c50, http_c1000, http_pipeline), beside Node and the
# libuv responder: a Boost.Beast hello (bench/beast/http_hello.cpp, Debian libboost-dev) and
# h2o (Debian h2o, one thread, a 13-byte file as the answer), and uWebSockets.js (see start_uws);
# each is skipped when missing.
# Their epoll column is the same brigade server with BRIGADE_BACKEND=epoll; the brigade column
# runs the default backend (io_uring where the kernel allows it).
#
# Servers run pinned on core 0 (taskset -c 0), load generators on core 1; everything on 127.0.0.1,
# on a free port found at run time; every server started here is killed on exit.
# Contract for brigade programs this script runs (so they can be added later without editing it):
#   servers take `--port N` and print "listening on 127.0.0.1:PORT" once ready;
#   loop benches print "key value" lines with the same keys as their bench/node/*.js twin.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
BIN=$BUILD/bench
NODE_DIR=$ROOT/bench/node
LOGS=$BUILD/logs
RUNS=${RUNS:-3}
LOAD_SECONDS=${LOAD_SECONDS:-5}
WRK_THREADS=${WRK_THREADS:-1}
IMPLS=(brigade epoll node libuv beast h2o uws)  # the table's columns (epoll: brigade on epoll)
CLK_TCK=$(getconf CLK_TCK)
ALL_NAMES=(timers chains fs_read spawn echo http_c50 http_c1000 http_pipeline http_json http_users
  http_idle http_heavy cluster db worker crypto fetch ws redis tls express)
HTTP_NAMES=(http_c50 http_c1000 http_pipeline http_json http_users http_idle http_heavy)

declare -A VALUES=()      # "row|impl" -> space-separated measurements
declare -a ROWS=()        # rows in the order first recorded
declare -A ROW_SEEN=()
declare -a SKIPPED=()     # "skipped: ..." lines for the report
declare -A SERVER_PID=()  # impl -> pid of the server of the benchmark running now
declare -A SERVER_PORT=()
BUILD_WARNING=""
SERVER_CPUS=0             # where start_server pins servers (the cluster bench gives them both)
WRK_PATH=/                # the URL path wrk_load requests
WRK_SCHEME=http           # https for the TLS benches
PG_DIR=""                 # the throwaway PostgreSQL of the db bench, while it runs
REDIS_PID=""              # the throwaway redis-server of the redis bench, while it runs
TMP=$(mktemp -d /tmp/brigade-bench.XXXXXX)

log() { echo "bench: $*" >&2; }

cleanup() {
  stop_servers
  stop_postgres
  [[ -n $REDIS_PID ]] && kill "$REDIS_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Recording and reporting.

record() {  # ROW IMPL VALUE
  [[ -n ${ROW_SEEN[$1]:-} ]] || { ROW_SEEN[$1]=1; ROWS+=("$1"); }
  VALUES["$1|$2"]="${VALUES["$1|$2"]:-} $3"
}

skip() {  # BINARY: a brigade program another layer has not delivered yet
  local line="skipped: ${1#"$ROOT"/} not built"
  printf '%s\n' "${SKIPPED[@]}" | grep -qxF -- "$line" || SKIPPED+=("$line")
  log "$line"
}

median() {  # VALUES... -> median, or "-" when there are none
  [[ $# -eq 0 ]] && { echo -; return; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'
}

fmt() {  # NUMBER -> short human form
  [[ $1 == - ]] && { echo -; return; }
  awk -v x="$1" 'BEGIN { if (x >= 1000) printf "%.0f", x; else if (x >= 10) printf "%.1f", x;
                          else printf "%.2f", x }'
}

# shellcheck disable=SC2086  # the stored measurement lists are meant to split into arguments
print_table() {
  local sep="--------------------------------+--------------+--------------+--------------+--------------+--------------+--------------+--------------+-------------"
  echo "# brigade bench: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), node $(node --version)"
  echo "# $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average $(cut -d' ' -f1-3 /proc/loadavg), median of $RUNS runs, ${LOAD_SECONDS}s per server load, wrk -t$WRK_THREADS"
  [[ -n $BUILD_WARNING ]] && echo "$BUILD_WARNING"
  echo "# *_ms, *_mb, *_kib* and cpu_us_* rows: lower is better; the others: higher is better"
  printf '%-31s | %12s | %12s | %12s | %12s | %12s | %12s | %12s | %s\n' name brigade epoll node libuv beast h2o uws brigade/node
  echo "$sep"
  local row b e n u w h x ratio
  for row in "${ROWS[@]}"; do
    b=$(median ${VALUES["$row|brigade"]:-})
    e=$(median ${VALUES["$row|epoll"]:-})
    n=$(median ${VALUES["$row|node"]:-})
    u=$(median ${VALUES["$row|libuv"]:-})
    w=$(median ${VALUES["$row|beast"]:-})
    h=$(median ${VALUES["$row|h2o"]:-})
    x=$(median ${VALUES["$row|uws"]:-})
    ratio=-
    [[ $b != - && $n != - ]] && ratio=$(awk -v b="$b" -v n="$n" 'BEGIN { if (n > 0) printf "%.2f", b / n; else print "-" }')
    printf '%-31s | %12s | %12s | %12s | %12s | %12s | %12s | %12s | %s\n' "$row" "$(fmt "$b")" "$(fmt "$e")" \
      "$(fmt "$n")" "$(fmt "$u")" "$(fmt "$w")" "$(fmt "$h")" "$(fmt "$x")" "$ratio"
  done
  for row in "${SKIPPED[@]}"; do echo "$row"; done
}

# ---------------------------------------------------------------------------------------------
# Processes.

free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => {
    console.log(s.address().port); s.close(); })"
}

cpu_ticks() {  # PID -> utime + stime in clock ticks of PID and its descendants (cluster workers)
  local stat pid sum=0
  for pid in $1 $(descendants "$1"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    stat=${stat##*) }  # the command name may hold spaces; fields resume after its ')'
    sum=$((sum + $(awk '{ print $12 + $13 }' <<<"$stat")))
  done
  echo "$sum"
}

descendants() {  # PID -> the pids of its living descendants
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

start_server() {  # IMPL COMMAND... (the port is the last argument): starts pinned on core 0
  local impl=$1 port=${!#} logf=$LOGS/server-$1-$BENCH_NAME.log
  shift
  taskset -c "$SERVER_CPUS" "$@" >"$logf" 2>&1 &
  local pid=$!
  SERVER_PID[$impl]=$pid
  SERVER_PORT[$impl]=$port
  local i
  for ((i = 0; i < 200; i++)); do  # up to 10 s: a cluster starts its workers first
    grep -qs "listening on 127.0.0.1:$port" "$logf" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  log "$impl server did not start (log: $logf):"
  sed 's/^/  /' "$logf" >&2
  stop_server "$impl"
  return 1
}

stop_server() {  # IMPL
  local pid=${SERVER_PID[$1]:-}
  unset "SERVER_PID[$1]" "SERVER_PORT[$1]"
  [[ -z $pid ]] && return
  kill "$pid" 2>/dev/null
  local i
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

stop_servers() {
  local impl pid orphans=()
  for impl in "${!SERVER_PID[@]}"; do
    orphans+=($(descendants "${SERVER_PID[$impl]}"))  # cluster workers, if the primary is killed
    stop_server "$impl"
  done
  for pid in "${orphans[@]}"; do kill -9 "$pid" 2>/dev/null; done
}

# Starts the servers of one benchmark: brigade (if built), node and libuv.
start_servers() {  # BRIGADE_BINARY NODE_SCRIPT LIBUV_BINARY
  if [[ -x $1 ]]; then
    start_server brigade "$1" --port "$(free_port)"
  else
    skip "$1"
  fi
  start_server node node "$2" "$(free_port)"
  start_server libuv "$3" "$(free_port)"
}

# ---------------------------------------------------------------------------------------------
# Loop benchmarks: one process each, brigade and node alternating run by run.

run_loop_bench() {  # NAME IMPL TIMEOUT COMMAND...: records NAME.key for each "key value" line
  local name=$1 impl=$2 limit=$3 out=$LOGS/$1-$2.out
  shift 3
  if ! timeout "$limit" "$@" >"$out" 2>"$out.err"; then
    log "$name on $impl failed (see $out.err)"
    return 1
  fi
  local key value
  while read -r key value; do
    [[ $key =~ ^[a-z_]+$ && $value =~ ^[0-9.]+$ ]] && record "$name.$key" "$impl" "$value"
  done <"$out"
}

bench_timers() {
  local r
  for ((r = 1; r <= RUNS; r++)); do
    log "timers run $r/$RUNS"
    run_loop_bench timers brigade 60 taskset -c 0 "$BIN/timers"
    run_loop_bench timers node 60 taskset -c 0 node "$NODE_DIR/timers.js"
  done
}

bench_chains() {
  local r
  for ((r = 1; r <= RUNS; r++)); do
    log "chains run $r/$RUNS"
    run_loop_bench chains brigade 60 taskset -c 0 "$BIN/chains"
    run_loop_bench chains node 60 taskset -c 0 node "$NODE_DIR/chains.js"
  done
}

# Thread pool: both read the same 4 KiB file 100,000 times, 64 in flight, 4 pool threads, not
# pinned (the pool is meant to use every core).
bench_fs_read() {
  local file=$TMP/4k.bin r
  head -c 4096 /dev/urandom >"$file"
  local have_brigade=1
  [[ -x $BIN/fs_read ]] || { skip "$BIN/fs_read"; have_brigade=0; }
  for ((r = 1; r <= RUNS; r++)); do
    log "fs_read run $r/$RUNS"
    # Both ways brigade reads whole files, same run: the loop's io_uring ring (row fs_read) and
    # the pool (row fs_read_pool; what epoll always does); BRIGADE_FS chooses.
    ((have_brigade)) && run_loop_bench fs_read brigade 120 \
      env BRIGADE_FS=ring BRIGADE_THREADPOOL_SIZE=4 "$BIN/fs_read" "$file" 100000 64
    ((have_brigade)) && run_loop_bench fs_read_pool brigade 120 \
      env BRIGADE_FS=pool BRIGADE_THREADPOOL_SIZE=4 "$BIN/fs_read" "$file" 100000 64
    run_loop_bench fs_read node 120 env UV_THREADPOOL_SIZE=4 node "$NODE_DIR/fs_read.js" "$file" 100000 64
  done
}

# Crypto on the pool: 400 pbkdf2 derivations (HMAC-SHA256, 10,000 rounds), 16 in flight,
# 4 pool threads, not pinned (as fs_read).
bench_crypto() {
  local r
  [[ -x $BIN/crypto_pbkdf2 ]] || skip "$BIN/crypto_pbkdf2"
  for ((r = 1; r <= RUNS; r++)); do
    log "crypto run $r/$RUNS"
    [[ -x $BIN/crypto_pbkdf2 ]] && run_loop_bench pbkdf2 brigade 120 \
      env BRIGADE_THREADPOOL_SIZE=4 "$BIN/crypto_pbkdf2" 400 10000 16
    run_loop_bench pbkdf2 node 120 env UV_THREADPOOL_SIZE=4 node "$NODE_DIR/crypto_pbkdf2.js" 400 10000 16
  done
}

# HTTP client: 20,000 GETs, 50 in flight, against bench/libuv/http_responder (keep-alive) pinned
# on core 0, clients on core 1. brigade's http::fetch vs Node's global fetch (undici) in the
# fetch_undici rows, vs http.get on a keep-alive Agent in the fetch_agent rows (the brigade
# figures of one run appear in both). cpu_us_per_req: the client's CPU.
bench_fetch() {
  local r url out
  [[ -x $BIN/fetch_client ]] || skip "$BIN/fetch_client"
  start_server libuv "$BIN/libuv/http_responder" "$(free_port)" || return 1
  url="http://127.0.0.1:${SERVER_PORT[libuv]}/"
  for ((r = 1; r <= RUNS; r++)); do
    log "fetch run $r/$RUNS"
    if [[ -x $BIN/fetch_client ]] && run_loop_bench fetch_undici brigade 120 taskset -c 1 "$BIN/fetch_client" "$url" 20000 50; then
      out=$LOGS/fetch_undici-brigade.out
      while read -r key value; do record "fetch_agent.$key" brigade "$value"; done <"$out"
    fi
    run_loop_bench fetch_undici node 120 taskset -c 1 node "$NODE_DIR/fetch_client.js" fetch "$url" 20000 50
    run_loop_bench fetch_agent node 120 taskset -c 1 node "$NODE_DIR/fetch_client.js" agent "$url" 20000 50
  done
  stop_servers
}

# Child processes: /bin/true spawned and reaped, one at a time and 16 at once, 2000 each, not
# pinned (the children run on the other core).
bench_spawn() {
  local r
  [[ -x $BIN/spawn ]] || { skip "$BIN/spawn"; }
  for ((r = 1; r <= RUNS; r++)); do
    log "spawn run $r/$RUNS"
    [[ -x $BIN/spawn ]] && run_loop_bench spawn brigade 120 "$BIN/spawn" 2000
    run_loop_bench spawn node 120 node "$NODE_DIR/spawn.js" 2000
  done
}

# ---------------------------------------------------------------------------------------------
# Workers: brigade's Worker / MessagePort / SharedBuffer / WorkerPool vs worker_threads and
# Piscina. Not pinned: each workload is two threads (or a loop and a 2-thread pool).

# Runs bench/NAME.cpp's binary and bench/node/NODE_SCRIPT alternately, RUNS times.
run_worker_bench() {  # NAME NODE_SCRIPT TIMEOUT [ARGS...]
  local name=$1 script=$2 limit=$3 r
  shift 3
  [[ -x $BIN/$name ]] || skip "$BIN/$name"
  for ((r = 1; r <= RUNS; r++)); do
    log "$name run $r/$RUNS"
    [[ -x $BIN/$name ]] && run_loop_bench "$name" brigade "$limit" "$BIN/$name" "$@"
    run_loop_bench "$name" node "$limit" env NODE_PATH="$ROOT/bench/.scratch/node_modules" \
      node "$NODE_DIR/$script" "$@"
  done
}

# Ping-pong RTT over 100,000 round trips; one-way: 100,000 small messages, 2000 1 MiB buffers.
bench_worker_messages() { run_worker_bench worker_messages worker_messages.js 300 100000 2000; }
# SharedBuffer wait/notify vs Atomics.wait/notify ping-pong, 100,000 round trips.
bench_worker_atomics() { run_worker_bench worker_atomics worker_atomics.js 120 100000; }
# Pool of 2 threads vs Piscina: 100,000 tiny tasks, 2000 fib(25), 10,000 single tasks.
bench_worker_pool() {
  # Installed only when missing: `npm install` drops packages its package.json does not list,
  # and bench/.scratch is shared with other benchmarks' packages.
  if [[ ! -d $ROOT/bench/.scratch/node_modules/piscina ]]; then
    log "installing piscina@4 into bench/.scratch"
    npm install --prefix "$ROOT/bench/.scratch" piscina@4 >"$LOGS/npm-piscina.log" 2>&1 ||
      { log "npm install piscina failed (see $LOGS/npm-piscina.log)"; return 1; }
  fi
  run_worker_bench worker_pool piscina_pool.js 300 100000 2000 10000
}
# A ~2 s CPU job (1.5e9 double additions) on the loop vs in a worker, a 10 ms interval ticking.
bench_worker_offload() { run_worker_bench worker_offload worker_offload.js 120 1500000000; }

# ---------------------------------------------------------------------------------------------
# Server benchmarks: all servers up at once (idle ones cost nothing), loads alternate between
# them run by run; server CPU per operation from /proc/PID/stat around each load.

# Runs one load against IMPL's server; records ROW.<rate> and ROW.cpu_us_per_<unit>.
measure_load() {  # ROW IMPL UNIT LOAD_FUNCTION
  local row=$1 impl=$2 unit=$3 load=$4
  local pid=${SERVER_PID[$impl]} port=${SERVER_PORT[$impl]}
  local before after ops secs
  before=$(cpu_ticks "$pid")
  read -r ops secs < <("$load" "$port" "$LOAD_SECONDS" "$LOGS/$row-$impl.out")
  after=$(cpu_ticks "$pid")
  if ! kill -0 "$pid" 2>/dev/null; then
    log "$impl server died during $row (log: $LOGS/server-$impl-$BENCH_NAME.log)"
    unset "SERVER_PID[$impl]"
    return 1
  fi
  [[ -z ${ops:-} || $ops == 0 ]] && { log "$row on $impl: no operations completed"; return 1; }
  record "$row.${unit}_per_s" "$impl" "$(awk -v n="$ops" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
  record "$row.cpu_us_per_$unit" "$impl" \
    "$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$ops" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
}

run_server_bench() {  # ROW UNIT LOAD_FUNCTION
  local row=$1 unit=$2 load=$3 impl r
  for impl in "${IMPLS[@]}"; do  # warm-up (JIT, caches), not measured
    [[ -n ${SERVER_PID[$impl]:-} ]] && "$load" "${SERVER_PORT[$impl]}" 1 "$LOGS/$row-$impl.warmup" >/dev/null
  done
  for ((r = 1; r <= RUNS; r++)); do
    for impl in "${IMPLS[@]}"; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      log "$row run $r/$RUNS: $impl"
      measure_load "$row" "$impl" "$unit" "$load"
    done
  done
}

# A load function: PORT SECONDS OUTFILE -> prints "OPERATIONS ELAPSED_SECONDS".
echo_load() {
  timeout $(($2 + 20)) taskset -c 1 "$BIN/echo_client" "$1" 50 "$2" 64 >"$3" 2>&1
  awk '/^round_trips / { n = $2 } /^seconds / { s = $2 } END { if (n) print n, s }' "$3"
}

# wrk prints "N requests in 5.00s"; non-2xx answers and socket errors are left in the log.
wrk_load() {  # PORT SECONDS OUTFILE WRK_OPTIONS... [-- SCRIPT_ARGS...]
  local port=$1 secs=$2 out=$3 options=()
  shift 3
  while (($#)) && [[ $1 != -- ]]; do options+=("$1"); shift; done
  timeout $((secs + 30)) taskset -c 1 wrk -t"$WRK_THREADS" "${options[@]}" -d"${secs}s" \
    "$WRK_SCHEME://127.0.0.1:$port$WRK_PATH" "$@" >"$out" 2>&1
  grep -q 'Non-2xx' "$out" && log "non-2xx responses: see $out"
  awk '/ requests in / { s = $4; sub(/s,$/, "", s); print $1, s }' "$out"
}
wrk_c50() { wrk_load "$1" "$2" "$3" -c50; }
wrk_c1000() { wrk_load "$1" "$2" "$3" -c1000 --timeout 10s; }
wrk_pipeline() { wrk_load "$1" "$2" "$3" -c50 -s "$ROOT/bench/wrk/pipeline.lua" -- 16; }

bench_echo() {
  start_servers "$BUILD/examples/tcp_echo" "$NODE_DIR/echo_server.js" "$BIN/libuv/echo_server"
  run_server_bench echo rt echo_load
  stop_servers
}

brigade_http_binary() {
  local b
  for b in "$BUILD/examples/http_hello" "$BIN/http_hello"; do
    [[ -x $b ]] && { echo "$b"; return; }
  done
  echo "$BUILD/examples/http_hello"  # what the skip line names
}

# h2o as a peer: one thread, every path answered with a 13-byte file. It prints no "listening"
# line of its own, so a helper says it once the port answers (h2o itself is the server process).
start_h2o() {
  local port dir
  command -v h2o >/dev/null || { SKIPPED+=("skipped: h2o (Debian h2o not installed)"); return 1; }
  port=$(free_port)
  dir=$TMP/h2o-$port
  mkdir -p "$dir"
  chmod 755 "$TMP" "$dir"  # started by root, h2o serves as nobody
  printf 'Hello, World!' >"$dir/hello.txt"
  {
    echo "num-threads: 1"
    [[ $(id -u) -eq 0 ]] && echo "user: nobody"
    echo "listen: {host: 127.0.0.1, port: $port}"
    echo "hosts: {default: {paths: {/: {file.file: $dir/hello.txt}}}}"
  } >"$dir/h2o.conf"
  # shellcheck disable=SC2016  # expanded by the inner shell
  start_server h2o bash -c '(until curl -so /dev/null "http://127.0.0.1:$1/"; do sleep 0.05; done
    echo "listening on 127.0.0.1:$1") & exec h2o -c "$2"' h2o "$port" "$dir/h2o.conf" "$port"
}

# uWebSockets as a peer, through uWebSockets.js (npm `uwebsockets`, which carries uWS's prebuilt
# Node addons; installed into bench/.scratch when missing): uWS's own C++ server and loop, with
# the handler in JavaScript, so its CPU per request is an upper bound of uWS's in C++.
start_uws() {
  local scratch=$ROOT/bench/.scratch/node_modules
  if [[ ! -d $scratch/uwebsockets ]]; then
    log "installing uwebsockets@3.0.6 into bench/.scratch"
    npm install --prefix "$ROOT/bench/.scratch" uwebsockets@3.0.6 >"$LOGS/npm-uws.log" 2>&1 ||
      { SKIPPED+=("skipped: uws (npm install uwebsockets failed: see $LOGS/npm-uws.log)"); return 1; }
  fi
  start_server uws env NODE_PATH="$scratch" node "$NODE_DIR/uws_hello.js" "$(free_port)"
}

bench_http() {  # ROW LOAD_FUNCTION
  local row=$1
  ((WRK_THREADS > 1)) && row=${row}_t$WRK_THREADS
  start_servers "$(brigade_http_binary)" "$NODE_DIR/http_hello.js" "$BIN/libuv/http_responder"
  # The same brigade binary on its other backend (the brigade column: the default, io_uring
  # where the kernel allows it).
  [[ -x $(brigade_http_binary) ]] &&
    start_server epoll env BRIGADE_BACKEND=epoll "$(brigade_http_binary)" --port "$(free_port)"
  if [[ -x $BIN/beast/http_hello ]]; then
    start_server beast "$BIN/beast/http_hello" "$(free_port)"
  else
    SKIPPED+=("skipped: beast (bench/beast/http_hello not built: Debian libboost-dev)")
  fi
  start_h2o
  start_uws
  run_server_bench "$row" req "$2"
  stop_servers
}
bench_http_c50() { bench_http http_c50 wrk_c50; }

# The plaintext hello with Prometheus on (--metrics: per-route durations, runtime collectors,
# /metrics) and off, brigade only: each run starts both in turn, warms up and measures, so the
# machine's drift falls on both. http_metrics.on_over_off is the ratio of the medians.
bench_http_metrics() {
  local bin r mode flags off on
  bin=$(brigade_http_binary)
  [[ -x $bin ]] || { skip "$bin"; return; }
  for ((r = 1; r <= RUNS; r++)); do
    for mode in off on; do
      flags=()
      [[ $mode == on ]] && flags=(--metrics)
      start_server brigade "$bin" "${flags[@]}" --port "$(free_port)" || continue
      wrk_c50 "${SERVER_PORT[brigade]}" 1 "$LOGS/http_metrics_$mode.warmup" >/dev/null
      log "http_metrics run $r/$RUNS: metrics $mode"
      measure_load "http_metrics_$mode" brigade req wrk_c50
      stop_server brigade
    done
  done
  off=$(median ${VALUES["http_metrics_off.req_per_s|brigade"]:-})
  on=$(median ${VALUES["http_metrics_on.req_per_s|brigade"]:-})
  [[ $off != - && $on != - ]] &&
    record http_metrics.on_over_off brigade "$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')"
}
bench_http_c1000() { bench_http http_c1000 wrk_c1000; }
bench_http_pipeline() { bench_http http_pipeline wrk_pipeline; }

# Connection churn: the plaintext hello under wrk -c50 with Connection: close (every request a
# new connection), brigade only, the ways it can accept: io_uring's multishot accept (row
# http_churn, brigade column), io_uring with accept4 on readiness (BRIGADE_URING_ACCEPT=0: row
# http_churn_accept4) and epoll (row http_churn, epoll column). Each run starts each server in
# turn, warms it up and measures it, so the machine's drift falls on all three;
# http_churn.multishot_over_accept4 is the ratio of the req/s medians.
bench_http_churn() {
  local bin r mode ring off
  bin=$(brigade_http_binary)
  [[ -x $bin ]] || { skip "$bin"; return; }
  for ((r = 1; r <= RUNS; r++)); do
    for mode in multishot accept4 epoll; do
      local impl=brigade row=http_churn env=()
      case $mode in
        accept4) row=http_churn_accept4 env=(BRIGADE_URING_ACCEPT=0) ;;
        epoll) impl=epoll env=(BRIGADE_BACKEND=epoll) ;;
      esac
      start_server "$impl" env "${env[@]}" "$bin" --port "$(free_port)" || continue
      wrk_close_c50 "${SERVER_PORT[$impl]}" 1 "$LOGS/$row-$impl.warmup" >/dev/null
      log "http_churn run $r/$RUNS: $mode"
      measure_load "$row" "$impl" conn wrk_close_c50
      stop_server "$impl"
    done
  done
  ring=$(median ${VALUES["http_churn.conn_per_s|brigade"]:-})
  off=$(median ${VALUES["http_churn_accept4.conn_per_s|brigade"]:-})
  [[ $ring != - && $off != - ]] &&
    record http_churn.multishot_over_accept4 brigade "$(awk -v a="$ring" -v b="$off" 'BEGIN { printf "%.3f", a / b }')"
}

# ---------------------------------------------------------------------------------------------
# HTTP applications: bench/http_app.cpp (http::App, its router, res.json with nlohmann) vs
# bench/node/http_app.js (node:http and a minimal router, JSON.stringify). No libuv column.

wrk_c50_latency() { wrk_load "$1" "$2" "$3" -c50 --latency; }

record_p99() {  # ROW IMPL: wrk's 99th percentile latency (--latency) of the last load, in ms
  local p99
  p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 0
    if (f) printf "%.3f", v * f }' "$LOGS/$1-$2.out")
  [[ -n $p99 ]] && record "$1.p99_ms" "$2" "$p99"
}

start_app_servers() {
  if [[ -x $BIN/http_app ]]; then
    start_server brigade "$BIN/http_app" --port "$(free_port)"
  else
    skip "$BIN/http_app"
  fi
  start_server node node "$NODE_DIR/http_app.js" "$(free_port)"
}

warm_up_c50() {  # ROW: one second of wrk -c50 on WRK_PATH against each running server
  local impl
  for impl in brigade node; do
    [[ -n ${SERVER_PID[$impl]:-} ]] && wrk_c50 "${SERVER_PORT[$impl]}" 1 "$LOGS/$1-$impl.warmup" >/dev/null
  done
  return 0
}

run_app_bench() {  # ROW PATH: wrk -c50 on PATH; requests/s, CPU per request, p99 latency
  local row=$1 impl r
  WRK_PATH=$2
  start_app_servers
  warm_up_c50 "$row"
  for ((r = 1; r <= RUNS; r++)); do
    for impl in brigade node; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      log "$row run $r/$RUNS: $impl"
      measure_load "$row" "$impl" req wrk_c50_latency && record_p99 "$row" "$impl"
      cp "$LOGS/$row-$impl.out" "$LOGS/$row-$impl.run$r.out" 2>/dev/null  # p99s vary: keep each
    done
  done
  stop_servers
  WRK_PATH=/
}

# GET /json: a small object serialized per request.
bench_http_json() { run_app_bench http_json /json; }
# GET /users/:id: the handler awaits a 1 ms timer (a database stand-in), then answers JSON.
bench_http_users() { run_app_bench http_users /users/42; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }  # PID -> resident KiB

# Memory per idle keep-alive connection: a fresh server per run, a warm-up of 200 connections
# (opened, one request each, closed), RSS, then bench/idle_client.c opens N connections, one
# request each, and holds them: RSS again. (after - before) / N, in KiB.
IDLE_ROW=http_idle             # the row measure_idle records
IDLE_CLIENT=("$BIN/idle_client")  # PORT N [HOLD]: opens and holds N connections
measure_idle() {  # IMPL N COMMAND... (the port is the last argument)
  local impl=$1 n=$2 pid port before after client i out=$LOGS/$IDLE_ROW-$1.out row=$IDLE_ROW
  shift 2
  start_server "$impl" "$@" || return 1
  pid=${SERVER_PID[$impl]} port=${SERVER_PORT[$impl]}
  timeout 60 taskset -c 1 "${IDLE_CLIENT[@]}" "$port" 200 0 >/dev/null || log "$row warm-up on $impl failed"
  sleep 0.5
  before=$(rss_kib "$pid")
  taskset -c 1 "${IDLE_CLIENT[@]}" "$port" "$n" >"$out" 2>&1 &
  client=$!
  for ((i = 0; i < ${IDLE_WAIT_S:-60} * 20; i++)); do  # up to 60 s (TLS handshakes: longer)
    grep -qs '^holding' "$out" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.05
  done
  if grep -qs '^holding' "$out"; then
    sleep 0.5
    after=$(rss_kib "$pid")
    record "$row.rss_before_mb" "$impl" "$(awk -v b="$before" 'BEGIN { printf "%.1f", b / 1024 }')"
    record "$row.rss_after_mb" "$impl" "$(awk -v a="$after" 'BEGIN { printf "%.1f", a / 1024 }')"
    record "$row.rss_kib_per_conn" "$impl" \
      "$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.3f", (a - b) / n }')"
  else
    log "$row on $impl: the client did not get its $n connections (see $out)"
  fi
  kill "$client" 2>/dev/null
  wait "$client" 2>/dev/null
  stop_server "$impl"
}

bench_http_idle() {
  local n=${IDLE_CONNECTIONS:-10000} r
  ulimit -n "$(ulimit -Hn)"  # the libuv responder does not raise its own limit
  ((n + 100 <= $(ulimit -n))) || log "http_idle: ulimit -n $(ulimit -n) is below $n connections"
  [[ -x $BIN/http_app ]] || skip "$BIN/http_app"
  for ((r = 1; r <= RUNS; r++)); do
    log "http_idle run $r/$RUNS ($n connections)"
    [[ -x $BIN/http_app ]] && measure_idle brigade "$n" "$BIN/http_app" --port "$(free_port)"
    measure_idle node "$n" node "$NODE_DIR/http_app.js" "$(free_port)"
    measure_idle libuv "$n" "$BIN/libuv/http_responder" "$(free_port)"
  done
}

# One naive fib(N) request in flight while bench/latency_probe.c polls GET / every 10 ms:
# the slowest poll and the longest stretch without an answer, with the work on the loop
# (/heavy-loop) and off it (/heavy: brigade's WorkerPool of one thread, Node's one Worker).
# The server and its worker thread share core 0; the probe runs on core 1.
bench_http_heavy() {
  local r impl mode n path key value
  local -A fib_n=([brigade]=${HEAVY_N_BRIGADE:-45} [node]=${HEAVY_N_NODE:-41})
  start_app_servers
  for ((r = 1; r <= RUNS; r++)); do
    for impl in brigade node; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      n=${fib_n[$impl]}
      record http_heavy.fib_n "$impl" "$n"
      for mode in loop pool; do
        path="/heavy?n=$n"
        [[ $mode == loop ]] && path="/heavy-loop?n=$n"
        log "http_heavy run $r/$RUNS: $impl, work on the $mode"
        if ! timeout 120 taskset -c 1 "$BIN/latency_probe" "${SERVER_PORT[$impl]}" "$path" 10 \
          >"$LOGS/http_heavy-$impl-$mode.out" 2>&1; then
          log "http_heavy on $impl ($mode) failed (see $LOGS/http_heavy-$impl-$mode.out)"
          continue
        fi
        while read -r key value; do
          [[ $key == *_ms ]] && record "http_heavy.${mode}_$key" "$impl" "$value"
        done <"$LOGS/http_heavy-$impl-$mode.out"
      done
    done
  done
  stop_servers
}

# ---------------------------------------------------------------------------------------------
# TLS: the hello server over HTTPS (bench/http_hello.cpp --tls, bench/node/https_hello.js) with
# one ECDSA P-256 certificate made here. https_c50: wrk -c50, keep-alive (https_c50_lean: the
# same from bench/tls_load, a leaner client); https_handshakes: wrk
# -c50 with Connection: close, so every request is a new connection and a full handshake (wrk
# does not resume sessions); https_idle: RSS per idle TLS connection held by
# bench/node/tls_idle_client.js (one request served on each). No libuv column.

tls_cert() {
  [[ -f $TMP/tls.crt ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TMP/tls.key" -out "$TMP/tls.crt" -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1
}

start_tls_servers() {
  tls_cert
  if [[ -x $BIN/http_hello ]]; then
    start_server brigade "$BIN/http_hello" --tls "$TMP/tls.crt" "$TMP/tls.key" --port "$(free_port)"
  else
    skip "$BIN/http_hello"
  fi
  start_server node node "$NODE_DIR/https_hello.js" "$TMP/tls.crt" "$TMP/tls.key" "$(free_port)"
}

wrk_close_c50() { wrk_load "$1" "$2" "$3" -c50 -H "Connection: close"; }

bench_tls_load() {  # ROW UNIT LOAD_FUNCTION
  WRK_SCHEME=https
  start_tls_servers
  run_server_bench "$1" "$2" "$3"
  stop_servers
  WRK_SCHEME=http
}
bench_https_c50() { bench_tls_load https_c50 req wrk_c50; }
# The same keep-alive load from bench/tls_load.c: TLS and framing only, about a quarter less CPU
# per request than wrk's one thread, which is the ceiling of https_c50 on a 2-core machine.
tls_c50_load() {
  timeout $(($2 + 30)) taskset -c 1 "$BIN/tls_load" "$1" 50 "$2" >"$3" 2>&1
  awk '/^requests / { n = $2 } /^seconds / { s = $2 } END { if (n) print n, s }' "$3"
}
bench_https_c50_lean() { bench_tls_load https_c50_lean req tls_c50_load; }
bench_https_handshakes() { bench_tls_load https_handshakes conn wrk_close_c50; }

bench_https_idle() {
  local n=${TLS_IDLE_CONNECTIONS:-10000} r
  ulimit -n "$(ulimit -Hn)"
  tls_cert
  IDLE_ROW=https_idle
  IDLE_CLIENT=(node "$NODE_DIR/tls_idle_client.js")
  IDLE_WAIT_S=600  # a Node client makes the handshakes, on one core
  for ((r = 1; r <= RUNS; r++)); do
    log "https_idle run $r/$RUNS ($n connections)"
    if [[ -x $BIN/http_hello ]]; then
      measure_idle brigade "$n" "$BIN/http_hello" --tls "$TMP/tls.crt" "$TMP/tls.key" --port "$(free_port)"
    else
      skip "$BIN/http_hello"
    fi
    measure_idle node "$n" node "$NODE_DIR/https_hello.js" "$TMP/tls.crt" "$TMP/tls.key" "$(free_port)"
  done
  IDLE_ROW=http_idle
  IDLE_CLIENT=("$BIN/idle_client")
  IDLE_WAIT_S=60
}

# ---------------------------------------------------------------------------------------------
# Cluster: a cluster of hello-world workers (round robin: the primary accepts and hands each
# connection over, Node's default on Linux), 1 and then 2 workers. The servers get both cores
# (wrk stays on core 1, so it shares one with them); cpu_us_per_req sums primary and workers.

wait_for_lines() {  # FILE PATTERN COUNT: up to 10 s for COUNT lines matching PATTERN
  local i
  for ((i = 0; i < 200; i++)); do
    (($(grep -c "$2" "$1" 2>/dev/null || true) >= $3)) && return 0
    sleep 0.05
  done
  return 1
}

bench_cluster() {
  local n b n1 n2 impl
  for n in 1 2; do
    BENCH_NAME=cluster_w$n
    SERVER_CPUS=0,1
    if [[ -x $BUILD/examples/cluster_hello ]]; then
      start_server brigade "$BUILD/examples/cluster_hello" --workers "$n" --port "$(free_port)" &&
        wait_for_lines "$LOGS/server-brigade-$BENCH_NAME.log" "ready pid" "$n"
    else
      skip "$BUILD/examples/cluster_hello"
    fi
    start_server node node "$NODE_DIR/cluster_hello.js" "$n" "$(free_port)"
    SERVER_CPUS=0
    run_server_bench "cluster_w$n" req wrk_c50
    stop_servers
  done
  for impl in brigade node; do  # throughput of 2 workers over 1 worker, from the medians
    # shellcheck disable=SC2086
    n1=$(median ${VALUES["cluster_w1.req_per_s|$impl"]:-})
    # shellcheck disable=SC2086
    n2=$(median ${VALUES["cluster_w2.req_per_s|$impl"]:-})
    [[ $n1 == - || $n2 == - ]] && continue
    record cluster.scaling_w2_over_w1 "$impl" "$(awk -v a="$n2" -v b="$n1" 'BEGIN { printf "%.2f", a / b }')"
  done
}

# ---------------------------------------------------------------------------------------------
# Databases: GET /users/42 (JSON of one row of a 1,000-row users table), wrk -t1 -c50.
# PostgreSQL: brigade's db::PgPool vs Node's `pg` Pool, 10 connections each, one throwaway
# server (scripts/pg-test-server.sh, not pinned). SQLite: db::SqliteDb on brigade's thread pool
# vs better-sqlite3 on Node's main thread, one WAL file. The HTTP servers are pinned on core 0
# (brigade's pool threads too). loop_p99_ms: the loop delay p99 during the load, from each
# server's /stats (read and reset around every load).

stop_postgres() {
  [[ -n $PG_DIR ]] || return 0
  "$ROOT/scripts/pg-test-server.sh" stop "$PG_DIR" >/dev/null 2>&1
  PG_DIR=""
}

loop_p99() {  # PORT -> the server's loop delay p99 since the last call
  curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
    node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
      try { console.log(JSON.parse(s).delay_p99_ms); } catch { } })'
}

run_db_bench() {  # ROW: servers already started; records rates, CPU and loop delay
  local row=$1 impl r p99
  WRK_PATH=/users/42
  warm_up_c50 "$row"
  for ((r = 1; r <= RUNS; r++)); do
    for impl in brigade node; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      log "$row run $r/$RUNS: $impl"
      loop_p99 "${SERVER_PORT[$impl]}" >/dev/null
      measure_load "$row" "$impl" req wrk_c50 || continue
      p99=$(loop_p99 "${SERVER_PORT[$impl]}")
      [[ $p99 =~ ^[0-9.e+-]+$ ]] && record "$row.loop_p99_ms" "$impl" "$(awk -v x="$p99" 'BEGIN { printf "%.3f", x }')"
    done
  done
  WRK_PATH=/
}

bench_db() {
  local scratch=$ROOT/bench/.scratch/node_modules conninfo db=$TMP/users.db
  if [[ ! -d $scratch/pg || ! -d $scratch/better-sqlite3 ]]; then
    SKIPPED+=("skipped: db (npm install --prefix bench/.scratch pg better-sqlite3@12)")
    return
  fi
  [[ -x $BIN/db_users ]] || skip "$BIN/db_users"

  BENCH_NAME=db_pg
  PG_DIR=$(mktemp -d /tmp/brigade-bench-pg.XXXXXX)
  if conninfo=$(PG_TEST_OWNER_PID=$$ "$ROOT/scripts/pg-test-server.sh" start "$PG_DIR" 2>"$LOGS/postgres.log") &&
    node "$NODE_DIR/db_seed.js" pg "$conninfo" 1000 >&2; then
    [[ -x $BIN/db_users ]] && start_server brigade "$BIN/db_users" --pg "$conninfo" --pool 10 --port "$(free_port)"
    start_server node node "$NODE_DIR/db_users.js" pg "$conninfo" 10 "$(free_port)"
    run_db_bench db_pg
    stop_servers
  else
    log "PostgreSQL did not start (see $LOGS/postgres.log)"
    SKIPPED+=("skipped: db_pg (PostgreSQL did not start)")
  fi
  stop_postgres

  BENCH_NAME=db_sqlite
  node "$NODE_DIR/db_seed.js" sqlite "$db" 1000 >&2 || return
  [[ -x $BIN/db_users ]] && start_server brigade "$BIN/db_users" --sqlite "$db" --port "$(free_port)"
  start_server node node "$NODE_DIR/db_users.js" sqlite "$db" "$(free_port)"
  run_db_bench db_sqlite
  stop_servers
}

# ---------------------------------------------------------------------------------------------
# Redis: a throwaway redis-server pinned on core 0 (no persistence), clients on core 1.
#   redis_getset   GET/SET from 50 coroutines on one client vs ioredis (enableAutoPipelining)
#   queue          no-op jobs, 1 producer and 2 consumers (concurrency 50 each), and one job's
#                  add-to-result latency, vs BullMQ (bench/queue_jobs.cpp, bench/node/bullmq_jobs.js)

bench_redis() {
  command -v redis-server >/dev/null || { SKIPPED+=("skipped: redis (no redis-server)"); return; }
  local scratch=$ROOT/bench/.scratch/node_modules
  if [[ ! -d $scratch/ioredis || ! -d $scratch/bullmq ]]; then
    log "installing ioredis@5 bullmq@5 into bench/.scratch"
    npm install --prefix "$ROOT/bench/.scratch" ioredis@5 bullmq@5 >"$LOGS/npm-redis.log" 2>&1 ||
      { log "npm install ioredis bullmq failed (see $LOGS/npm-redis.log)"; return 1; }
  fi
  local port dir pid r url
  port=$(free_port)
  dir=$(mktemp -d "$TMP/redis.XXXXXX")
  taskset -c 0 redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --logfile "$dir/redis.log" --daemonize no &
  pid=$!
  REDIS_PID=$pid
  url=redis://127.0.0.1:$port
  for ((r = 0; r < 100; r++)); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  for ((r = 1; r <= RUNS; r++)); do
    log "redis run $r/$RUNS"
    [[ -x $BIN/redis_getset ]] && run_loop_bench redis_getset brigade 120 taskset -c 1 "$BIN/redis_getset" "$url" 200000 50
    run_loop_bench redis_getset node 120 env NODE_PATH="$scratch" taskset -c 1 node "$NODE_DIR/redis_getset.js" "$url" 200000 50
    [[ -x $BIN/queue_jobs ]] && run_loop_bench queue brigade 300 taskset -c 1 "$BIN/queue_jobs" "$url" 20000 300
    run_loop_bench queue node 300 env NODE_PATH="$scratch" taskset -c 1 node "$NODE_DIR/bullmq_jobs.js" "$url" 20000 300
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  REDIS_PID=""
}

# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# WebSocket: bench/ws_echo.cpp vs bench/node/ws_echo_server.js (Node + ws@8, installed into
# bench/.scratch when missing); the same load program, bench/ws_load.cpp, drives both.

ws_start() {  # [BRIGADE ARGS...] (ws_echo's style: --coroutine for the coroutine handler)
  if [[ ! -d $ROOT/bench/.scratch/node_modules/ws ]]; then
    log "installing ws@8 into bench/.scratch"
    npm install --prefix "$ROOT/bench/.scratch" ws@8 >"$LOGS/npm-ws.log" 2>&1 ||
      { log "npm install ws failed (see $LOGS/npm-ws.log)"; return 1; }
  fi
  if [[ -x $BIN/ws_echo ]]; then start_server brigade "$BIN/ws_echo" "$@" --port "$(free_port)"; else skip "$BIN/ws_echo"; fi
  start_server node node "$NODE_DIR/ws_echo_server.js" "$(free_port)"
}

ws_echo_load() {  # 50 connections, each keeping 32 messages of 64 bytes in flight
  timeout $(($2 + 60)) taskset -c 1 "$BIN/ws_load" echo "$1" 50 "$2" 64 32 >"$3" 2>&1
  awk '/^round_trips / { n = $2 } /^seconds / { s = $2 } END { if (n) print n, s }' "$3"
}

bench_ws_echo() {
  ws_start || return
  run_server_bench ws_echo msg ws_echo_load
  stop_servers
}

# One 64-byte message to WS_CONNECTIONS (10,000) sockets: the median of 20 rounds of the time
# from the request to the last socket's receipt, and the server's CPU time over the rounds per
# socket reached: all of it (cpu_us_per_socket) and its user-space part (cpu_us_user_per_socket;
# the rest is the kernel's, mostly the TCP send, which on loopback runs the receiver's TCP input).
bench_ws_broadcast() {
  local n=${WS_CONNECTIONS:-10000} rounds=20 r impl out pid client u0 s0 u1 s1 i
  ulimit -n "$(ulimit -Hn)"
  ws_start || return
  for ((r = 1; r <= RUNS; r++)); do
    for impl in brigade node; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      log "ws_broadcast run $r/$RUNS: $impl ($n connections)"
      out=$LOGS/ws_broadcast-$impl.out pid=${SERVER_PID[$impl]}
      timeout 600 taskset -c 1 "$BIN/ws_load" broadcast "${SERVER_PORT[$impl]}" "$n" $rounds >"$out" 2>&1 &
      client=$!
      for ((i = 0; i < 2400; i++)); do  # up to 120 s for the connections
        grep -qs '^connected' "$out" && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.05
      done
      read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
      if ! wait "$client"; then
        log "ws_broadcast on $impl failed (see $out)"
        continue
      fi
      read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
      record ws_broadcast.deliver_ms "$impl" "$(awk '/^deliver_ms / { print $2 }' "$out")"
      record ws_broadcast.cpu_us_per_socket "$impl" "$(awk -v t=$((u1 - u0 + s1 - s0)) -v hz="$CLK_TCK" \
        -v r=$rounds -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / r / n }')"
      record ws_broadcast.cpu_us_user_per_socket "$impl" "$(awk -v t=$((u1 - u0)) -v hz="$CLK_TCK" \
        -v r=$rounds -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / r / n }')"
    done
  done
  stop_servers
}

# Bytes per idle WebSocket: RSS of a fresh server after a warm-up (100 sockets opened, held,
# closed: the first handshakes fault in code pages, libcrypto's SHA-1 among them, and grow the
# pools 100 concurrent handshakes use; as http_idle's warm-up) and while ws_load holds N sockets.
# ws_idle: brigade's route written as callbacks (ws::Behavior); ws_idle_coroutine: as a coroutine
# handler looping on receive(). Node + ws is the other column of both.
ws_hold() {  # PORT N OUT: starts ws_load holding N sockets; true once it holds them (120 s at most)
  taskset -c 1 "$BIN/ws_load" idle "$1" "$2" >"$3" 2>&1 &
  WS_HOLDER=$!
  local i
  for ((i = 0; i < 2400; i++)); do
    grep -qs '^holding' "$3" && return 0
    kill -0 "$WS_HOLDER" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
ws_release() { kill "$WS_HOLDER" 2>/dev/null; wait "$WS_HOLDER" 2>/dev/null; }

measure_ws_idle() {  # ROW [BRIGADE ARGS...]
  local row=$1 n=${WS_CONNECTIONS:-10000} r impl pid before after out
  shift
  ulimit -n "$(ulimit -Hn)"
  for ((r = 1; r <= RUNS; r++)); do
    ws_start "$@" || return
    for impl in brigade node; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      pid=${SERVER_PID[$impl]} out=$LOGS/$row-$impl.out
      ws_hold "${SERVER_PORT[$impl]}" 100 "$out.warm" || log "$row on $impl: the warm-up failed"
      ws_release
      sleep 0.5
      before=$(rss_kib "$pid")
      if ws_hold "${SERVER_PORT[$impl]}" "$n" "$out"; then
        sleep 0.5
        after=$(rss_kib "$pid")
        record "$row.rss_kib_per_conn" "$impl" \
          "$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.3f", (a - b) / n }')"
      else
        log "$row on $impl: the client did not get its $n connections (see $out)"
      fi
      ws_release
    done
    stop_servers
  done
}
bench_ws_idle() { measure_ws_idle ws_idle; }
bench_ws_idle_coroutine() { measure_ws_idle ws_idle_coroutine --coroutine; }

# ---------------------------------------------------------------------------------------------
# Express: bench/express_app.cpp vs bench/node/express_app.js (Express 4, installed into
# bench/.scratch when missing), wrk -c50 on one route each; the Node column is Express.

start_express_servers() {  # starts both on a folder holding the 100 KiB file (EXPRESS_ROOT)
  local scratch=$ROOT/bench/.scratch/node_modules
  if [[ ! -d $scratch/express || ! -d $scratch/compression ]]; then
    log "installing express@4 compression@1 into bench/.scratch"
    npm install --prefix "$ROOT/bench/.scratch" express@4 compression@1 >"$LOGS/npm-express.log" 2>&1 ||
      { log "npm install express compression failed (see $LOGS/npm-express.log)"; return 1; }
  fi
  EXPRESS_ROOT=$TMP/express-root
  if [[ ! -f $EXPRESS_ROOT/data.bin ]]; then
    mkdir -p "$EXPRESS_ROOT"
    head -c 102400 /dev/urandom >"$EXPRESS_ROOT/data.bin"
  fi
  if [[ -x $BIN/express_app ]]; then
    start_server brigade "$BIN/express_app" --root "$EXPRESS_ROOT" --port "$(free_port)"
  else
    skip "$BIN/express_app"
  fi
  start_server node env NODE_PATH="$scratch" node "$NODE_DIR/express_app.js" "$EXPRESS_ROOT" "$(free_port)"
}

run_express_bench() {  # ROW PATH LOAD_FUNCTION
  local row=$1 impl r
  WRK_PATH=$2
  start_express_servers || { WRK_PATH=/; return; }
  for impl in brigade node; do
    [[ -n ${SERVER_PID[$impl]:-} ]] && "$3" "${SERVER_PORT[$impl]}" 1 "$LOGS/$row-$impl.warmup" >/dev/null
  done
  for ((r = 1; r <= RUNS; r++)); do
    for impl in brigade node; do
      [[ -z ${SERVER_PID[$impl]:-} ]] && continue
      log "$row run $r/$RUNS: $impl"
      measure_load "$row" "$impl" req "$3"
    done
  done
  stop_servers
  WRK_PATH=/
}

wrk_post_json() { wrk_load "$1" "$2" "$3" -c50 -s "$ROOT/bench/wrk/post_json.lua"; }

# POST /echo: a ~300-byte JSON order parsed and sent back (express.json() + res.json).
bench_express_json_post() { run_express_bench express_json_post /echo wrk_post_json; }
# GET /static/data.bin: a 100 KiB file with validators (express.static).
bench_express_static() { run_express_bench express_static /static/data.bin wrk_c50; }
wrk_gzip() { wrk_load "$1" "$2" "$3" -c50 -H 'Accept-Encoding: gzip'; }
# GET /gzip: a ~100 KiB JSON document serialized and gzipped per request (compression()).
bench_express_gzip() { run_express_bench express_gzip /gzip wrk_gzip; }

build() {
  local configure=(cmake --preset bench)
  [[ -n ${BENCH_BUILD:-} ]] &&
    configure=(cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRIGADE_BUILD_BENCH=ON)
  log "building (${configure[*]})"
  "${configure[@]}" >"$LOGS/configure.log" 2>&1 || { cat "$LOGS/configure.log" >&2; exit 1; }
  # Only what the benches run, so a broken unrelated example does not stop the benchmarks.
  local targets=() t
  for t in $(cmake --build "$BUILD" --target help | awk -F: '/^[a-z_0-9]+: / { print $1 }'); do
    [[ $t == bench_* || $t == tcp_echo || $t == http_hello ]] && targets+=("$t")
  done
  # -k 0: build every target that can be built, so one broken layer skips only its own benches.
  if ! cmake --build "$BUILD" -j2 --target "${targets[@]}" -- -k 0 >"$LOGS/build.log" 2>&1; then
    # The tree is shared and edited live: a half-written file elsewhere should not stop a run
    # when earlier binaries exist, but the table must say so.
    tail -20 "$LOGS/build.log" >&2
    [[ -x $BIN/timers ]] || exit 1
    BUILD_WARNING="# WARNING: the build failed (see $LOGS/build.log); figures come from binaries built earlier"
    log "build failed; running the binaries built earlier"
  fi
}

main() {
  local names=("$@") name
  ((${#names[@]})) || names=("${ALL_NAMES[@]}")
  local expanded=()
  for name in "${names[@]}"; do
    case $name in
      http) expanded+=("${HTTP_NAMES[@]}") ;;
      worker) expanded+=(worker_messages worker_atomics worker_pool worker_offload) ;;
      worker_messages | worker_atomics | worker_pool | worker_offload) expanded+=("$name") ;;
      timers | chains | fs_read | spawn | crypto | fetch | echo | http_c50 | http_c1000 | http_pipeline | cluster | db) expanded+=("$name") ;;
      http_metrics | http_churn) expanded+=("$name") ;;
      redis) expanded+=("$name") ;;
      http_json | http_users | http_idle | http_heavy) expanded+=("$name") ;;
      ws) expanded+=(ws_echo ws_broadcast ws_idle ws_idle_coroutine) ;;
      ws_echo | ws_broadcast | ws_idle | ws_idle_coroutine) expanded+=("$name") ;;
      tls) expanded+=(https_c50 https_c50_lean https_handshakes https_idle) ;;
      https_c50 | https_c50_lean | https_handshakes | https_idle) expanded+=("$name") ;;
      express) expanded+=(express_json_post express_static express_gzip) ;;
      express_json_post | express_static | express_gzip) expanded+=("$name") ;;
      *) echo "unknown benchmark '$name'; known: ${ALL_NAMES[*]} http" >&2; exit 2 ;;
    esac
  done
  for tool in node wrk taskset cmake; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps)" >&2; exit 1; }
  done
  mkdir -p "$LOGS"
  [[ -n ${NO_BUILD:-} ]] || build
  for name in "${expanded[@]}"; do
    BENCH_NAME=$name
    "bench_$name"
  done
  print_table | tee "$LOGS/results.txt"
}

main "$@"
