#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and examples.
#   pg-test-server.sh start DIR [PORT]   initdb in DIR, listen on 127.0.0.1:PORT (a free one if not
#                                        given) and on a Unix socket in DIR; prints the conninfo
#   pg-test-server.sh restart DIR        fast restart (drops every connection), same port
#   pg-test-server.sh stop DIR           fast stop, then removes DIR
# With PG_TEST_TEMPLATE=PATH set, initdb runs once into PATH-<version> and each start copies it
# (a copy takes a tenth of initdb's time).
# With PG_TEST_OWNER_PID set, a watcher stops the server and removes DIR once that process is
# gone, so a test binary that crashes leaves nothing running.
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user in DIR
# chowned to it; otherwise it runs as the caller.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z $cmd || -z $dir ]]; then
  echo "usage: $0 start|restart|stop DIR [PORT]" >&2
  exit 2
fi

bindir=${PG_BINDIR:-}
if [[ -z $bindir ]]; then
  for v in 17 16 15 14 13; do
    if [[ -x /usr/lib/postgresql/$v/bin/pg_ctl ]]; then
      bindir=/usr/lib/postgresql/$v/bin
      break
    fi
  done
fi
if [[ -z $bindir ]]; then bindir=$(dirname "$(command -v pg_ctl)"); fi

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

init_data() {
  as_pg "$bindir/initdb" -D "$1" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
}

start() {
  local port=${1:-$(free_port)}
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
  if [[ -n ${PG_TEST_TEMPLATE:-} ]]; then
    # initdb once into the template (under a lock: test processes start in parallel), then copy.
    local template=$PG_TEST_TEMPLATE-$(basename "$(dirname "$bindir")")
    (
      flock 9
      if [[ ! -f $template/PG_VERSION ]]; then
        rm -rf "$template" && mkdir -p "$template"
        if [[ $(id -u) -eq 0 ]]; then chown postgres: "$template"; fi
        init_data "$template"
      fi
    ) 9>"$template.lock"
    as_pg cp -a "$template" "$dir/data"
  else
    init_data "$dir/data"
  fi
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
shared_buffers = 16MB
log_min_messages = warning
CONF
  echo "$port" >"$dir/port"
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  if [[ -n ${PG_TEST_OWNER_PID:-} ]]; then
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [[ -d $2 ]]; do sleep 1; done
                    [[ -d $2 ]] && exec "$0" stop "$2"' "$0" "$PG_TEST_OWNER_PID" "$dir" \
      </dev/null >/dev/null 2>&1 &
  fi
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

restart() {
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 restart >/dev/null
}

stop() {
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ||
      as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null || true
  fi
  rm -rf "$dir"
}

case $cmd in
  start) start "${3:-}" ;;
  restart) restart ;;
  stop) stop ;;
  *) echo "unknown command: $cmd" >&2; exit 2 ;;
esac
