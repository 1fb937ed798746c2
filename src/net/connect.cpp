// connect / connect_unix: a non-blocking connect() and a wait for the first writable edge.
#include "brigade/net/connect.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "brigade/error.hpp"
#include "sockaddr.hpp"
#include "stream_core.hpp"

namespace brigade::net {

namespace {

// Suspends until the connecting socket reports writable or an error (see on_stream_io).
class ConnectAwaiter {
 public:
  ConnectAwaiter(detail::StreamCore& c, std::stop_token token) noexcept
      : c_(&c), token_(std::move(token)) {}
  ConnectAwaiter(ConnectAwaiter&& o) noexcept : c_(o.c_), token_(std::move(o.token_)) {}
  ~ConnectAwaiter() {
    stop_.reset();
    if (op_.linked) c_->connecting = nullptr;
  }
  bool await_ready() const noexcept { return token_.stop_requested(); }
  void await_suspend(std::coroutine_handle<> h) {
    op_.waiter = h;
    op_.linked = true;
    c_->connecting = &op_;
    if (token_.stop_possible()) stop_.emplace(*c_->loop, token_, OnStop{this});
  }
  void await_resume() {
    stop_.reset();
    if (op_.error || token_.stop_requested()) throw CancelledError("connect");
  }

 private:
  struct OnStop {
    ConnectAwaiter* self;
    void operator()() const {
      if (!self->op_.linked) return;
      self->op_.linked = false;
      self->op_.error = ECANCELED;
      self->c_->connecting = nullptr;
      self->op_.waiter.resume();
    }
  };
  detail::StreamCore* c_;
  detail::WaitOp op_;
  std::stop_token token_;
  std::optional<brigade::detail::StopWatch<OnStop>> stop_;
};

// `bad_address` (an errno from parsing) is thrown here, so that every failure comes from co_await.
Task<Stream> connect_to(Loop& loop, detail::SockAddr addr, int bad_address, std::stop_token token) {
  if (bad_address) throw Error(bad_address, "connect");
  if (token.stop_requested()) throw CancelledError("connect");
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("connect");
  Stream s;
  try {
    s = detail::StreamAccess::make(loop, fd, true);
  } catch (...) {
    ::close(fd);
    throw;
  }
  detail::StreamCore& c = detail::StreamAccess::core(s);
  if (::connect(fd, addr.get(), addr.len) == 0) co_return s;
  if (errno != EINPROGRESS) throw Error(errno, "connect");  // s closes the fd
  c.readable = c.writable = false;
  co_await ConnectAwaiter(c, token);
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err) throw Error(err, "connect");
  co_return s;
}

}  // namespace

Task<Stream> connect(Loop& loop, std::string_view ip, uint16_t port, std::stop_token token) {
  detail::SockAddr addr;
  int err = detail::parse_ip(ip, port, addr);
  return connect_to(loop, addr, err, std::move(token));
}

Task<Stream> connect_unix(Loop& loop, std::string_view path, std::stop_token token) {
  detail::SockAddr addr;
  int err = detail::parse_unix(path, addr);
  return connect_to(loop, addr, err, std::move(token));
}

}  // namespace brigade::net
