// Listener: bind/listen, batched accept4 until EAGAIN, the EMFILE reserve-fd trick. On a loop
// with multishot accepts (io_uring), one IORING_OP_ACCEPT request per listener instead: each
// completion is a connection, with the same reserve-fd trick when one reports EMFILE; the
// listener falls back to readiness (what epoll does) if the ring path cannot go on.
#include "brigade/net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "brigade/error.hpp"
#include "sockaddr.hpp"
#include "stream_core.hpp"

namespace brigade::net {

namespace detail {

struct AcceptOp {
  std::coroutine_handle<> waiter;
  int error = 0;
  bool linked = false;
};

struct ListenerCore {
  Loop* loop = nullptr;
  IoWatch watch;  // the fd; watched for readiness unless `uses_ring`
  ListenOptions options;
  std::string unix_path;  // the socket file to unlink on close ("" if none)
  int reserve_fd = -1;    // spent when fds run out (see drop_pending)
  bool readable = true;
  bool closed = false;
  AcceptOp* waiter = nullptr;
  UniqueFunction<void(Stream)> on_connection;
  bool dispatching =
      false;  // accept_all is on the stack: a destroyed core waits for the close phase
  uint64_t accepted = 0;
  uint64_t dropped = 0;

  // The ring path: one multishot accept, armed while serve() or an accept() takes connections.
  IoRecv ring;
  bool uses_ring = false;
  bool ring_ref = false;    // holds a loop ref for the listener (the watch's, on readiness)
  bool pausing = false;     // the request is asked to end: accept() has enough queued
  std::vector<int> queued;  // accepted for accept() and not taken yet, oldest first
  UniqueFunction<void(int)>* backlog_take = nullptr;  // accept_backlog's, while it cancels
  std::size_t backlog_taken = 0;
};

namespace {

int open_reserve() noexcept { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

// Out of fds: free the reserve, accept and close everything pending, take the reserve back.
bool drop_pending(ListenerCore& c) noexcept {
  if (c.reserve_fd < 0) return false;
  ::close(c.reserve_fd);
  for (;;) {
    int fd = ::accept4(c.watch.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      ++c.dropped;
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    break;
  }
  c.reserve_fd = open_reserve();
  return true;
}

// One accepted fd, or -EAGAIN (nothing pending; readable cleared), or -errno.
int accept_one(ListenerCore& c) noexcept {
  for (;;) {
    int fd = ::accept4(c.watch.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if ((err == EMFILE || err == ENFILE) && drop_pending(c)) err = EAGAIN;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      c.readable = false;
      return -EAGAIN;
    }
    return -err;
  }
}

// The ring's accepts queued for accept() beyond this pause the request: the kernel keeps the
// rest in the backlog, as when nobody calls accept() on epoll.
constexpr std::size_t kAcceptAhead = 64;

// The ring path arms its request again when it ended and someone takes connections.
void arm(ListenerCore& c) noexcept {
  if (!c.uses_ring || c.closed || c.ring.tag) return;
  if (!c.on_connection && !c.waiter) return;
  c.pausing = false;
  c.loop->io_accept(c.ring, c.watch.fd);  // cannot fail: the loop said it has accepts
}

// The ring cannot go on (an error epoll's path would retry at the next edge, or out of fds
// with no reserve left): from now on the listener accepts on readiness, as on epoll.
void fall_back_to_readiness(ListenerCore& c) noexcept {
  if (c.ring.tag) c.loop->io_accept_cancel(c.ring, nullptr);
  c.uses_ring = false;
  c.readable = true;
  c.watch.ref = c.ring_ref;
  if (std::exchange(c.ring_ref, false)) c.loop->unref();
  c.loop->io_start(c.watch, io::kReadable | io::kEdge);
}

Stream make_stream(ListenerCore& c, int fd) {
  try {
    Stream s = StreamAccess::make(*c.loop, fd, true);
    if (c.options.no_delay) s.set_no_delay(true);
    ++c.accepted;
    return s;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

// serve(): accept until EAGAIN (edge-triggered: the next edge comes only after that).
void accept_all(ListenerCore& c) {
  // The handler may close or destroy the Listener (see ~Listener); kept for a nested loop.
  bool outer = std::exchange(c.dispatching, true);
  while (!c.closed && c.on_connection) {
    int fd = accept_one(c);
    if (fd < 0) break;  // EAGAIN; or a hard error (ENOBUFS...): the next edge retries
    // The handler is moved out while it runs, so that it survives close() or the
    // listener's destruction from inside itself.
    auto fn = std::move(c.on_connection);
    try {
      fn(make_stream(c, fd));
    } catch (...) {
      report_unhandled_rejection("listener", std::current_exception());
    }
    if (!c.closed && !c.on_connection) c.on_connection = std::move(fn);
  }
  c.dispatching = outer;
}

// Hands one fd the ring accepted to serve()'s handler, or queues it for accept().
void take_accepted(ListenerCore& c, int fd) {
  if (!c.on_connection) {
    c.queued.push_back(fd);  // capacity reserved: kAcceptAhead, plus a pause's stragglers
    if (c.queued.size() >= kAcceptAhead && c.ring.tag && !c.pausing) {
      c.pausing = true;
      c.loop->io_recv_pause(c.ring);
    }
    if (AcceptOp* op = std::exchange(c.waiter, nullptr)) {
      op->linked = false;
      op->waiter.resume();
    }
    return;
  }
  auto fn = std::move(c.on_connection);  // as in accept_all: survives close() from inside
  try {
    fn(make_stream(c, fd));
  } catch (...) {
    report_unhandled_rejection("listener", std::current_exception());
  }
  if (!c.closed && !c.on_connection) c.on_connection = std::move(fn);
}

// A completion of the ring's accept: a connection, or why the request failed or ended.
void on_ring_accept(IoRecv& op, long result, const char*, bool more) {
  ListenerCore& c = *static_cast<ListenerCore*>(op.data);
  bool outer = std::exchange(c.dispatching, true);  // the handler may close or destroy us
  if (result >= 0) {
    take_accepted(c, int(result));  // reports what the handler throws itself
  } else if (result == -EMFILE || result == -ENFILE) {
    if (!drop_pending(c)) fall_back_to_readiness(c);
  } else if (result != -ECONNABORTED && result != -ECANCELED && result != -EINTR &&
             result != -EAGAIN) {
    fall_back_to_readiness(c);  // accept4 meets the error itself next, as on epoll
    if (AcceptOp* w = std::exchange(c.waiter, nullptr)) {
      w->linked = false;
      w->waiter.resume();
    }
  }
  if (!more) arm(c);
  c.dispatching = outer;
}

void on_listener_io(IoWatch& w, uint32_t) {
  ListenerCore& c = *static_cast<ListenerCore*>(w.data);
  c.readable = true;
  if (c.on_connection) {
    accept_all(c);
  } else if (AcceptOp* op = std::exchange(c.waiter, nullptr)) {
    op->linked = false;
    op->waiter.resume();
  }
}

void close_listener(ListenerCore& c) noexcept {
  if (c.closed) return;
  c.closed = true;
  if (c.ring.tag) c.loop->io_accept_cancel(c.ring, nullptr);  // its later fds are closed
  for (int fd : c.queued) ::close(fd);
  c.queued.clear();
  if (std::exchange(c.ring_ref, false)) c.loop->unref();
  c.loop->io_stop(c.watch);
  ::close(c.watch.fd);
  c.watch.fd = -1;
  if (c.reserve_fd >= 0) ::close(c.reserve_fd);
  c.reserve_fd = -1;
  if (!c.unix_path.empty()) ::unlink(c.unix_path.c_str());
  c.on_connection = nullptr;  // while accept_all runs it, it is moved out: accept_all drops it
  if (AcceptOp* op = std::exchange(c.waiter, nullptr)) {
    op->linked = false;
    op->error = ECANCELED;
    c.loop->queue_microtask([h = op->waiter] { h.resume(); });
  }
}

// The fds accept() left queued, to serve()'s handler (they came before any new one).
void serve_queued(ListenerCore& c) {
  std::vector<int> fds = std::exchange(c.queued, {});
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (c.closed || !c.on_connection) {
      for (; i < fds.size(); ++i) ::close(fds[i]);
      break;
    }
    take_accepted(c, fds[i]);
  }
}

// accept_backlog on the ring path: the queued fds, then the request cancelled at once, the fds
// it accepted that nobody has had yet going to `take` too (accept4 then takes the rest).
std::size_t take_ring_backlog(ListenerCore& c, UniqueFunction<void(int)>& take) {
  std::vector<int> fds = std::exchange(c.queued, {});
  for (int fd : fds) take(fd);
  c.accepted += fds.size();
  c.backlog_taken = fds.size();
  if (c.ring.tag) {
    c.backlog_take = &take;
    c.loop->io_accept_cancel(c.ring, [](IoRecv& op, int fd) {
      ListenerCore& core = *static_cast<ListenerCore*>(op.data);
      ++core.accepted;
      ++core.backlog_taken;
      (*core.backlog_take)(fd);
    });
    c.backlog_take = nullptr;
  }
  c.pausing = false;
  return std::exchange(c.backlog_taken, 0);
}

void set_ref(ListenerCore& c, bool ref) noexcept {
  if (!c.uses_ring) {
    c.loop->io_set_ref(c.watch, ref);
  } else if (!c.closed && c.ring_ref != ref) {
    c.ring_ref = ref;
    ref ? c.loop->ref() : c.loop->unref();
  }
}

// Waits for the next readable edge of the listening socket (the ring path: a connection).
class AcceptAwaiter {
 public:
  AcceptAwaiter(ListenerCore& c, std::stop_token token) noexcept
      : c_(&c), token_(std::move(token)) {}
  AcceptAwaiter(AcceptAwaiter&& o) noexcept : c_(o.c_), token_(std::move(o.token_)) {}
  ~AcceptAwaiter() {
    stop_.reset();
    if (op_.linked) c_->waiter = nullptr;
  }
  bool await_ready() const noexcept { return token_.stop_requested(); }
  void await_suspend(std::coroutine_handle<> h) {
    op_.waiter = h;
    op_.linked = true;
    c_->waiter = &op_;
    arm(*c_);  // the ring path: its request, if none is armed (ended, or paused)
    if (token_.stop_possible()) stop_.emplace(*c_->loop, token_, OnStop{this});
  }
  void await_resume() {
    stop_.reset();
    if (op_.error || token_.stop_requested()) throw CancelledError("accept");
  }

 private:
  struct OnStop {
    AcceptAwaiter* self;
    void operator()() const {
      if (!self->op_.linked) return;
      self->op_.linked = false;
      self->op_.error = ECANCELED;
      self->c_->waiter = nullptr;
      self->op_.waiter.resume();
    }
  };
  ListenerCore* c_;
  AcceptOp op_;
  std::stop_token token_;
  std::optional<brigade::detail::StopWatch<OnStop>> stop_;
};

std::unique_ptr<ListenerCore> make_core(Loop& loop, int fd, ListenOptions options) {
  auto c = std::make_unique<ListenerCore>();
  c->loop = &loop;
  c->options = options;
  c->reserve_fd = open_reserve();
  c->watch.fd = fd;
  c->watch.handler = on_listener_io;
  c->watch.data = c.get();
  if (loop.io_accepts()) {  // armed once someone takes connections
    c->uses_ring = true;
    c->ring.handler = on_ring_accept;
    c->ring.data = c.get();
    c->queued.reserve(kAcceptAhead * 2);
    c->watch.ref = false;
    c->ring_ref = true;
    loop.ref();
    return c;
  }
  if (int err = loop.io_start(c->watch, io::kReadable | io::kEdge)) {
    if (c->reserve_fd >= 0) ::close(c->reserve_fd);
    throw Error(err, "listen");
  }
  return c;
}

// socket + options + bind + listen; returns the fd or throws Error(errno, "listen").
int bind_listen(const SockAddr& addr, ListenOptions options) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("listen");
  int on = 1;
  bool ok = true;
  if (addr.family() != AF_UNIX) {
    ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0;
    if (ok && options.reuse_port)
      ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0;
  }
  ok = ok && ::bind(fd, addr.get(), addr.len) == 0 && ::listen(fd, options.backlog) == 0;
  if (!ok) {
    int err = errno;
    ::close(fd);
    throw Error(err, "listen");
  }
  return fd;
}

}  // namespace
}  // namespace detail

using detail::ListenerCore;

namespace {
// A closed core is freed now, or in the loop's close phase when accept_all is below us.
void retire_core(std::unique_ptr<ListenerCore> core) noexcept {
  if (!core || !core->dispatching) return;
  Loop& loop = *core->loop;
  loop.on_close([c = std::move(core)] {});
}
}  // namespace

Listener::Listener() noexcept = default;
Listener::Listener(std::unique_ptr<ListenerCore> core) noexcept : core_(std::move(core)) {}
Listener::Listener(Listener&&) noexcept = default;

Listener& Listener::operator=(Listener&& o) noexcept {
  if (this != &o) {
    close();
    retire_core(std::move(core_));
    core_ = std::move(o.core_);
  }
  return *this;
}

Listener::~Listener() {
  if (!core_) return;
  detail::close_listener(*core_);
  retire_core(std::move(core_));
}

Listener Listener::adopt(Loop& loop, int fd, ListenOptions options) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_errno("adopt");
  if (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("adopt");
  return Listener(detail::make_core(loop, fd, options));
}

Listener listen_tcp(Loop& loop, std::string_view ip, uint16_t port, ListenOptions options) {
  detail::SockAddr addr;
  if (int err = detail::parse_ip(ip, port, addr)) throw Error(err, "listen");
  int fd = detail::bind_listen(addr, options);
  try {
    return Listener(detail::make_core(loop, fd, options));
  } catch (...) {
    ::close(fd);
    throw;
  }
}

int reserve_port(std::string_view ip, uint16_t& port) {
  detail::SockAddr addr;
  if (int err = detail::parse_ip(ip, port, addr)) throw Error(err, "bind");
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("bind");
  int on = 1;
  bool ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0 &&
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
            ::bind(fd, addr.get(), addr.len) == 0;
  Endpoint bound = ok ? local_endpoint_of(fd) : Endpoint{};
  if (!ok || bound.family == 0) {
    int err = ok ? EINVAL : errno;
    ::close(fd);
    throw Error(err, "bind");
  }
  port = bound.port;
  return fd;
}

Listener listen_unix(Loop& loop, std::string_view path, ListenOptions options) {
  detail::SockAddr addr;
  if (int err = detail::parse_unix(path, addr)) throw Error(err, "listen");
  int fd = detail::bind_listen(addr, options);
  try {
    Listener l(detail::make_core(loop, fd, options));
    if (path[0] != '\0') l.core_->unix_path = std::string(path);
    return l;
  } catch (...) {
    ::close(fd);
    if (path[0] != '\0') ::unlink(std::string(path).c_str());
    throw;
  }
}

Task<Stream> Listener::accept(std::stop_token token) {
  ListenerCore* c = core_.get();  // not `this`: the Listener may move while we wait
  for (;;) {
    if (!c || c->closed) throw Error(EBADF, "accept");
    if (c->on_connection || c->waiter) throw Error(EBUSY, "accept");
    if (!c->queued.empty()) {  // the ring's (kept if it fell back to readiness since)
      int fd = c->queued.front();
      c->queued.erase(c->queued.begin());
      co_return detail::make_stream(*c, fd);
    }
    if (!c->uses_ring && c->readable) {
      int fd = detail::accept_one(*c);
      if (fd >= 0) co_return detail::make_stream(*c, fd);
      if (fd != -EAGAIN) throw Error(-fd, "accept");
    }
    co_await detail::AcceptAwaiter(*c, token);
  }
}

void Listener::serve_callback(UniqueFunction<void(Stream)> on_connection) {
  if (!is_open()) throw Error(EBADF, "serve");
  core_->on_connection = std::move(on_connection);
  if (core_->uses_ring) {
    detail::serve_queued(*core_);
    detail::arm(*core_);
    return;
  }
  if (core_->readable) detail::accept_all(*core_);  // connections may be waiting already
}

std::size_t Listener::accept_backlog(UniqueFunction<void(int fd)> take) {
  std::size_t n = 0;
  if (is_open() && core_->uses_ring) n = detail::take_ring_backlog(*core_, take);
  // Not only after a readable edge: the loop may not have polled since connections arrived.
  while (is_open()) {
    int fd = detail::accept_one(*core_);
    if (fd < 0) break;  // EAGAIN: the backlog is empty (or an error the next accept reports)
    ++core_->accepted;
    ++n;
    take(fd);
  }
  if (is_open()) detail::arm(*core_);  // serving goes on if the caller did not close
  return n;
}

void Listener::close() noexcept {
  if (core_) detail::close_listener(*core_);
}

bool Listener::is_open() const noexcept { return core_ && !core_->closed; }
int Listener::fd() const noexcept { return is_open() ? core_->watch.fd : -1; }
uint16_t Listener::port() const { return local_endpoint().port; }
Endpoint Listener::local_endpoint() const {
  return is_open() ? local_endpoint_of(core_->watch.fd) : Endpoint{};
}

void Listener::ref() noexcept {
  if (core_) detail::set_ref(*core_, true);
}
void Listener::unref() noexcept {
  if (core_) detail::set_ref(*core_, false);
}

uint64_t Listener::accepted() const noexcept { return core_ ? core_->accepted : 0; }
uint64_t Listener::dropped() const noexcept { return core_ ? core_->dropped : 0; }

}  // namespace brigade::net
