#pragma once
// Where a Redis server is and how to use it; parse_url reads
// "redis://[user:password@]host[:port][/db]".
#include <cstdint>
#include <string>
#include <string_view>

#include "brigade/loop/loop.hpp"

namespace brigade::redis {

struct Options {
  std::string host = "127.0.0.1";  // a numeric address or a name (looked up on the thread pool)
  uint16_t port = 6379;
  std::string username;  // AUTH username password (ACLs); empty: AUTH password alone
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECT db when not 0
  uint64_t connect_timeout_ms = 5000;
  // Client: pipelined connections shared by every command (one is usually enough: concurrent
  // commands travel together on it), and the most dedicated connections lent by acquire().
  std::size_t connections = 1;
  std::size_t max_dedicated = 16;
  // Reconnecting after a lost connection: the first retry after reconnect_min_ms, then twice
  // as long each time up to reconnect_max_ms (with up to 25% random jitter).
  uint64_t reconnect_min_ms = 50;
  uint64_t reconnect_max_ms = 2000;
  // A command issued while no connection is up waits this long for the reconnect, then fails
  // with ConnectionError (ioredis's offline queue, bounded in time).
  uint64_t offline_wait_ms = 10000;
  Loop* loop = nullptr;  // nullptr: the current loop
};

// Throws redis::Error on a malformed URL or a scheme other than redis://.
Options parse_url(std::string_view url);

}  // namespace brigade::redis
