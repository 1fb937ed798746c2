#pragma once
// Listener: a listening TCP or Unix socket (Node's net.Server).
//
// Two ways to take connections, one per listener:
//   co_await listener.accept()   one Stream at a time;
//   listener.serve(handler)      on each readable edge, accepts in a batch until EAGAIN and
//                                calls handler(Stream) for each. A handler returning Task<void>
//                                is spawned as a task named "connection" (an exception escaping
//                                it is an unhandled rejection, which ends the process by
//                                default: catch what you expect). The handler object (a
//                                lambda's captures) is kept alive until the last connection
//                                coroutine it started has ended, even past the listener.
// Out of fds (EMFILE/ENFILE), the listener closes its reserve fd (an fd on /dev/null held for
// this), accepts and at once closes the pending connections, reopens the reserve and keeps
// serving: clients see a reset instead of hanging in the backlog, and the loop does not spin.
// On io_uring (unless BRIGADE_URING_ACCEPT=0) one multishot accept request takes every
// connection instead of readiness and accept4; the behaviour above is the same.
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string_view>
#include <type_traits>

#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/net/endpoint.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/task/task.hpp"

namespace brigade::net {

struct ListenOptions {
  int backlog = 511;        // as Node's default
  bool reuse_port = false;  // SO_REUSEPORT: several processes bind one port (cluster's kernel mode)
  bool no_delay = false;    // TCP_NODELAY on every accepted connection
};

namespace detail {
struct ListenerCore;
}

class Listener {
 public:
  Listener() noexcept;
  ~Listener();  // closes
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;

  // Takes ownership of a listening socket fd (e.g. passed from a parent process); sets
  // O_NONBLOCK. Throws Error(errno, "adopt"); the fd is then still the caller's.
  static Listener adopt(Loop& loop, int fd, ListenOptions options = {});

  // The next connection. Throws CancelledError when the token is stopped or the listener
  // closed while waiting; Error(errno, "accept") on other failures.
  Task<Stream> accept(std::stop_token token = {});

  // Calls handler(Stream) for every connection from now on (see the header comment). `F` returns
  // void, or Task<void> to have it spawned. Call once.
  template <typename F>
  void serve(F handler) {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, Stream>, Task<void>>) {
      auto shared = std::make_shared<F>(std::move(handler));
      serve_callback(
          [shared](Stream s) { spawn(run_connection(shared, std::move(s)), "connection"); });
    } else {
      serve_callback(UniqueFunction<void(Stream)>(std::move(handler)));
    }
  }
  void serve_callback(UniqueFunction<void(Stream)> on_connection);

  // Accepts, without waiting, every connection already queued (until EAGAIN) and gives each to
  // `take` as a non-blocking, close-on-exec fd: the step before close() when connections that
  // completed the handshake must not be reset (a draining cluster). Returns how many.
  std::size_t accept_backlog(UniqueFunction<void(int fd)> take);

  // Stops accepting and closes the socket (a Unix socket's file is unlinked). A pending
  // accept() fails with CancelledError. Idempotent.
  void close() noexcept;
  bool is_open() const noexcept;
  int fd() const noexcept;
  uint16_t port() const;  // the bound port (after binding port 0); 0 for Unix sockets
  Endpoint local_endpoint() const;

  // An open listener keeps the loop alive (a server); unref() lets the loop exit anyway.
  void ref() noexcept;
  void unref() noexcept;

  uint64_t accepted() const noexcept;  // connections handed out
  uint64_t dropped() const noexcept;   // connections closed at once because fds ran out

 private:
  // Keeps the handler object (a lambda's captures) alive until its coroutine ends.
  template <typename F>
  static Task<void> run_connection(std::shared_ptr<F> handler, Stream s) {
    co_await (*handler)(std::move(s));
  }
  friend Listener listen_tcp(Loop&, std::string_view, uint16_t, ListenOptions);
  friend Listener listen_unix(Loop&, std::string_view, ListenOptions);
  explicit Listener(std::unique_ptr<detail::ListenerCore> core) noexcept;
  std::unique_ptr<detail::ListenerCore> core_;
};

// Binds and listens on a numeric IPv4/IPv6 address ("127.0.0.1", "0.0.0.0", "::") with
// SO_REUSEADDR; port 0 picks a free port (see port()). Throws Error(errno, "listen")
// (EINVAL for a hostname: resolve it first).
Listener listen_tcp(Loop& loop, std::string_view ip, uint16_t port, ListenOptions options = {});
// A bound, non-listening TCP socket with SO_REUSEPORT and SO_REUSEADDR: it holds the port for
// processes that listen on it with ListenOptions::reuse_port (cluster's kernel mode). Port 0
// picks a free one, written back to `port`. Returns the fd (close-on-exec; the caller closes it).
// Throws Error(errno, "bind") (EINVAL for a hostname).
int reserve_port(std::string_view ip, uint16_t& port);
// Binds a Unix socket at `path` (a leading '\0' makes a Linux abstract name). An existing file
// at `path` gives EADDRINUSE, as in Node. Throws Error(errno, "listen").
Listener listen_unix(Loop& loop, std::string_view path, ListenOptions options = {});

}  // namespace brigade::net
