#!/usr/bin/env bash
# Installs what brigade needs to build, test and benchmark on Debian 12. Idempotent.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql postgresql-client
  nlohmann-json3-dev libssl-dev openssl libcurl4-openssl-dev
  clang libclang-rt-14-dev clang-format
  curl python3 wrk libuv1-dev libhttp-parser-dev
  nodejs npm procps util-linux iproute2
  zlib1g-dev python3-websockets chromium  # ws: permessage-deflate, test peers
  redis-server
  python3-prometheus-client prometheus  # metrics: the exposition parsed and scraped
  nginx haproxy  # balancer tests (tests/http/balancer_e2e_test.cpp)
  media-types  # /etc/mime.types: http::serve_static's Content-Types
  libbrotli-dev libzstd-dev  # http::compression and compressed request bodies (zlib above)
  python3-brotli python3-zstandard  # test peers decoding br and zstd
  libboost-dev h2o  # bench peers of the HTTP groups (bench/run.sh)
  liburing-dev  # the loop's io_uring backend (src/loop/poller_uring.cpp)
)

missing=()
for p in "${packages[@]}"; do
  # nodejs may come from outside Debian (already on the machine): accept any node >= 20.
  if [[ $p == nodejs || $p == npm ]] && command -v node >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
