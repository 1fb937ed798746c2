#pragma once
// Client: Redis from coroutines (Node's ioredis). Commands go over `connections` shared,
// pipelined connections; acquire() lends a connection of your own for blocking commands
// (BLPOP, XREADGROUP BLOCK), MULTI/EXEC and WATCH.
//
//   redis::Client redis(redis::parse_url("redis://127.0.0.1:6379"));
//   co_await redis.set("greeting", "hello");
//   std::optional<std::string> v = co_await redis.get("greeting");
//   redis::Reply r = co_await redis.command("HINCRBY", "counts", "visits", "1");
//
// Connections open on first use. A lost connection fails only the commands in flight on it
// (ConnectionError: they may or may not have run) and is reopened in the background with
// backoff (reconnect_min_ms doubling to reconnect_max_ms); commands issued meanwhile wait for
// it up to offline_wait_ms. An error reply throws ServerError for that command only. Idle
// connections and the reconnect timer do not keep the loop alive. Destroy the client after
// the tasks that use it have finished. Loop-thread only.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/redis/connection.hpp"
#include "brigade/redis/options.hpp"
#include "brigade/task/task.hpp"

namespace brigade::redis {

struct ClientCore;

// A Lua script run with EVALSHA: sent once per server (again after NOSCRIPT, as after a restart).
struct Script {
  std::string source;
  std::string sha;  // filled in on first use
};

// A dedicated connection lent by Client::acquire(); going out of scope gives it back.
class Lease {
 public:
  Lease() noexcept = default;
  Lease(Lease&& o) noexcept;
  Lease& operator=(Lease&& o) noexcept;
  ~Lease() { release(); }
  // An empty lease throws redis::Error here.
  Connection* operator->() const;
  Connection& operator*() const { return *operator->(); }
  explicit operator bool() const noexcept { return bool(conn_); }
  void release();

 private:
  friend class Client;
  Lease(std::shared_ptr<ClientCore> core, std::unique_ptr<Connection> conn) noexcept
      : core_(std::move(core)), conn_(std::move(conn)) {}
  std::shared_ptr<ClientCore> core_;
  std::unique_ptr<Connection> conn_;
};

struct ClientStats {
  std::size_t connected = 0;  // shared connections up
  std::size_t dedicated_open = 0;
  std::size_t dedicated_idle = 0;
  uint64_t connects = 0;  // connections opened so far (reconnects included)
  uint64_t failed_connects = 0;
};

class Client {
 public:
  explicit Client(Options options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Opens the shared connections now; throws if the server cannot be reached. Optional.
  Task<void> connect();

  // Any command: co_await redis.command("HSET", "h", "field", value). Arguments are anything
  // that converts to std::string_view (a braced list in a co_await does not compile in g++ 12).
  template <typename... Args>
  Task<Reply> command(const Args&... args) {
    std::string_view views[] = {std::string_view(args)...};
    std::string out;
    append_command(out, std::span<const std::string_view>(views));
    return run(std::move(out));
  }
  Task<Reply> command(const std::vector<std::string>& args) {
    std::string out;
    append_command(out, args);
    return run(std::move(out));
  }
  Task<std::optional<std::string>> get(std::string_view key);
  Task<void> set(std::string_view key, std::string_view value, uint64_t ttl_ms = 0);
  Task<int64_t> del(std::string_view key);
  Task<int64_t> incr(std::string_view key);
  Task<int64_t> publish(std::string_view channel, std::string_view message);
  // EVALSHA script keys... args...; loads the script when the server does not know it.
  Task<Reply> eval(Script& script, const std::vector<std::string>& keys,
                   const std::vector<std::string>& args);

  Task<Lease> acquire();

  ClientStats stats() const noexcept;
  const Options& options() const noexcept;
  Loop& loop() const noexcept;

 private:
  // The public calls copy their arguments here, outside any co_await expression: g++ 12
  // destroys twice a by-value argument with a destructor written inside one.
  Task<Reply> run(std::string encoded);
  Task<Reply> run_script(Script& script, std::vector<std::string> keys_and_args, std::size_t keys);
  std::shared_ptr<ClientCore> core_;
};

}  // namespace brigade::redis
