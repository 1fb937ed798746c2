#pragma once
// Connection: one Redis connection on the loop (net::Stream), with automatic pipelining.
//
//   auto conn = co_await redis::Connection::open(options);
//   redis::Reply r = co_await conn->command("GET", "key");
//
// Every command issued while others are in flight is appended to one output buffer, flushed
// once per turn of the microtask queue: 50 coroutines issuing commands concurrently share
// one write() and their replies arrive in one read(). Replies are matched to commands in
// order. A command's co_await completes with its Reply; an error reply throws ServerError
// for that command only. A lost connection (EOF, reset, a protocol error) fails every command
// in flight with ConnectionError and every later one at once; Client reconnects.
//
// Pub/sub: set_push_handler() sees every reply first and may take it (a message on a
// subscribed connection); Subscriber uses it. The connection keeps the loop alive only while
// a command is in flight. Loop-thread only.
#include <coroutine>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/net/stream.hpp"
#include "brigade/redis/error.hpp"
#include "brigade/redis/options.hpp"
#include "brigade/redis/reply.hpp"
#include "brigade/redis/resp.hpp"
#include "brigade/task/task.hpp"

namespace brigade::redis {

class Connection;

namespace detail {
// One command waiting for its reply (lives in its awaiter).
struct Slot {
  Reply reply;
  std::string error;  // non-empty: the connection failed (ConnectionError / ProtocolError)
  bool protocol = false;
  bool linked = false;  // in the connection's queue
  std::coroutine_handle<> waiter;
};
}  // namespace detail

// co_await conn.command(...): sends when awaited (the encoded command lives in the awaiter).
class CommandAwaiter {
 public:
  CommandAwaiter(Connection* conn, std::string encoded) noexcept
      : conn_(conn), encoded_(std::move(encoded)) {}
  CommandAwaiter(CommandAwaiter&& o) noexcept : conn_(o.conn_), encoded_(std::move(o.encoded_)) {}
  ~CommandAwaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h) noexcept { slot_.waiter = h; }
  Reply await_resume();

 private:
  Connection* conn_;
  std::string encoded_;
  detail::Slot slot_;
};

class Connection {
 public:
  // Connects, then AUTH and SELECT as the options say. Throws ConnectionError (refused,
  // unreachable, closed during the handshake), TimeoutError (connect_timeout_ms), or
  // ServerError (AUTH refused).
  static Task<std::unique_ptr<Connection>> open(Options options, std::stop_token stop = {});
  // Commands in flight fail with ConnectionError (from the microtask queue).
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  template <typename... Args>
  CommandAwaiter command(const Args&... args) {
    std::string_view views[] = {std::string_view(args)...};
    std::string out;
    append_command(out, std::span<const std::string_view>(views));
    return CommandAwaiter(this, std::move(out));
  }
  CommandAwaiter command(const std::vector<std::string>& args) {
    std::string out;
    append_command(out, args);
    return CommandAwaiter(this, std::move(out));
  }
  // One command already encoded with append_command.
  CommandAwaiter encoded(std::string bytes) { return CommandAwaiter(this, std::move(bytes)); }

  // Sees every reply before the command queue: returns true to take it (a pub/sub message).
  // Runs inside the connection's read: it must not destroy the connection.
  using PushHandler = bool (*)(void* ctx, Reply& reply);
  void set_push_handler(PushHandler handler, void* ctx) noexcept {
    push_ = handler;
    push_ctx_ = ctx;
  }
  // Called once, from the loop, when the connection is lost (not when it is destroyed); it
  // may destroy the connection.
  using LostHandler = void (*)(void* ctx, const std::string& reason);
  void set_lost_handler(LostHandler handler, void* ctx) noexcept {
    lost_ = handler;
    lost_ctx_ = ctx;
  }

  bool ok() const noexcept { return !broken_; }
  const std::string& last_error() const noexcept { return broken_reason_; }
  std::size_t in_flight() const noexcept { return inflight_.size(); }
  Loop& loop() const noexcept { return loop_; }
  // Closes the socket now: commands in flight fail with ConnectionError. No lost handler call.
  void close() noexcept;

  // Internal (the awaiter's side).
  bool enqueue(const std::string& encoded, detail::Slot* slot);
  void forget(detail::Slot* slot) noexcept;

 private:
  explicit Connection(net::Stream stream);
  static void on_readable(void* ctx);
  void read();
  void schedule_flush();
  void flush();
  void fail(std::string reason, bool protocol, bool notify);
  void complete(detail::Slot* slot);
  void update_ref();

  net::Stream stream_;
  Loop& loop_;
  RespParser parser_;
  std::string out_;                     // commands encoded since the last flush
  std::deque<detail::Slot*> inflight_;  // in send order; nullptr: its awaiter is gone
  std::shared_ptr<Connection*> self_ = std::make_shared<Connection*>(this);
  bool flush_scheduled_ = false;
  bool broken_ = false;
  bool refd_ = true;
  std::string broken_reason_;
  PushHandler push_ = nullptr;
  void* push_ctx_ = nullptr;
  LostHandler lost_ = nullptr;
  void* lost_ctx_ = nullptr;
};

}  // namespace brigade::redis
