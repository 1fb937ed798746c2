// Stream: adoption of an fd, lifetime (close, release, destroy), options, and the
// non-suspending API. The I/O paths are in stream_io.cpp.
#include "brigade/net/stream.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <mutex>

#include "brigade/error.hpp"
#include "stream_core.hpp"

namespace brigade::net {

void ignore_sigpipe() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    // Respect a handler the program installed; replace only the default (terminate).
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      signal(SIGPIPE, SIG_IGN);
  });
}

namespace detail {

[[noreturn]] void throw_op_error(int err, const char* op) {
  if (err == ECANCELED) throw CancelledError(op);
  throw Error(err, op);
}

namespace {
void resume_cancelled(Loop& loop, std::coroutine_handle<> h) {
  loop.queue_microtask([h] { h.resume(); });
}
}  // namespace

// Cancels every waiter (they resume later, from the microtask queue) and drops the fd.
void close_core(StreamCore& c, bool close_fd) noexcept {
  if (c.closed) return;
  c.closed = true;
  // Before the fd goes: the kernel takes what the socket accepts now, as a send() would have.
  if (send_in_flight(c)) c.loop->io_cancel(c.send_op, release_sending);
  c.sending.clear();
  // The receive holds the file as well; the bytes the stream held unread go with it.
  if (c.ring_recvs) {
    c.loop->io_recv_cancel(c.recv_op);
    ring_drop(c);
  }
  c.loop->io_stop(c.watch);
  if (close_fd) ::close(c.watch.fd);
  c.watch.fd = -1;
  if (ReadOp* op = std::exchange(c.reader, nullptr)) {
    op->linked = false;
    op->result = -ECANCELED;
    resume_cancelled(*c.loop, op->waiter);
  }
  if (WaitOp* op = std::exchange(c.connecting, nullptr)) {
    op->linked = false;
    op->error = ECANCELED;
    resume_cancelled(*c.loop, op->waiter);
  }
  int write_error = c.write_error;
  fail_writes(c, ECANCELED);
  c.write_error = write_error ? write_error : EBADF;
  c.read_hook = c.drain_hook = nullptr;
  assert(!c.reader && !c.connecting && !c.writers && !pending_bytes(c) &&
         "nothing waits on a closed fd");
}

Stream StreamAccess::make(Loop& loop, int fd, bool socket) {
  auto c = std::make_unique<StreamCore>();
  c->loop = &loop;
  c->socket = socket;
  c->watch.fd = fd;
  c->watch.handler = on_stream_io;
  c->watch.data = c.get();
  c->ring_sends = socket && loop.io_sends();
  c->send_op.prepare = on_send_prepare;
  c->send_op.handler = on_send_done;
  c->send_op.data = c.get();
  c->ring_recvs = socket && loop.io_recvs();
  c->recv_op.handler = on_recv;
  c->recv_op.data = c.get();
  // Registered once for everything, edge-triggered: no epoll_ctl per operation. The ring's
  // receives report reading themselves: its wakeups would only cost completions.
  uint32_t reading = c->ring_recvs ? 0 : io::kReadable | io::kPeerClosed;
  int err = loop.io_start(c->watch, reading | io::kWritable | io::kEdge);
  if (err) throw Error(err, "adopt");
  return Stream(std::move(c));
}

}  // namespace detail

using detail::StreamCore;

Stream::Stream() noexcept = default;
Stream::Stream(std::unique_ptr<StreamCore> core) noexcept : core_(std::move(core)) {}
Stream::Stream(Stream&& o) noexcept = default;
Stream::~Stream() { destroy(); }

Stream& Stream::operator=(Stream&& o) noexcept {
  if (this != &o) {
    destroy();
    core_ = std::move(o.core_);
  }
  return *this;
}

void Stream::destroy() noexcept {
  if (!core_) return;
  detail::close_core(*core_, true);
  if (core_->dispatching) {  // its event handler is below us: it still reads the core
    Loop& loop = *core_->loop;
    loop.on_close([c = std::move(core_)] {});
  }
  core_.reset();
}

Stream Stream::adopt(Loop& loop, int fd, Kind kind) {
  bool socket = kind == Kind::kSocket;
  if (kind == Kind::kDetect) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("adopt");
    // epoll refuses a file it cannot poll, io_uring would report it always ready: said here
    // for both backends.
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) throw Error(EPERM, "adopt");
    socket = S_ISSOCK(st.st_mode);
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_errno("adopt");
  if (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("adopt");
  if (!socket) ignore_sigpipe();
  return detail::StreamAccess::make(loop, fd, socket);
}

bool Stream::is_open() const noexcept { return core_ && !core_->closed; }
int Stream::fd() const noexcept { return core_ ? core_->watch.fd : -1; }
bool Stream::is_socket() const noexcept { return core_ && core_->socket; }
Loop& Stream::loop() const noexcept { return *core_->loop; }

Task<std::size_t> Stream::read_full(std::span<char> buf, std::stop_token token) {
  StreamCore* c = core_.get();  // not `this`: the Stream may move while we wait
  std::size_t got = 0;
  while (got < buf.size()) {
    std::size_t n = co_await ReadAwaiter(c, buf.subspan(got), token);
    if (n == 0) break;
    got += n;
  }
  co_return got;
}

long Stream::try_read(std::span<char> buf) noexcept {
  if (!is_open()) return -EBADF;
  if (buf.empty()) return -EINVAL;
  if (core_->reader) return -EBUSY;
  return detail::core_read(*core_, buf);
}

long Stream::try_peek(std::span<char> buf) const noexcept {
  if (!is_open()) return -EBADF;
  if (buf.empty()) return -EINVAL;
  if (core_->ring_recvs) {  // bytes (or the end) the ring took are the stream's now
    long held = detail::ring_peek(*core_, buf);
    if (held != -EAGAIN) return held;
  }
  for (;;) {
    ssize_t n = ::recv(core_->watch.fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -errno;
  }
}

int Stream::write_nowait(std::span<const char> bytes) noexcept {
  if (!is_open()) return EBADF;
  StreamCore& c = *core_;
  if (c.write_error) return c.write_error;
  if (c.write_closed || c.end_pending) return EPIPE;
  if (c.writers) {
    // Keep the byte order: the suspended writers' bytes go into the queue first.
    std::size_t mark = std::exchange(c.high_water_mark, SIZE_MAX);
    detail::promote_writers(c);
    c.high_water_mark = mark;
    if (c.writers) return EBUSY;  // a send_file's bytes go first: these cannot be queued after
  }
  if (c.ring_sends) {
    c.queue.append(bytes);
    detail::ring_kick(c);
    return c.write_error;  // 0 unless the fallback's send() failed at once
  }
  if (c.queue.empty() && c.writable && !bytes.empty()) {
    long n = detail::core_send(c, bytes);
    if (n == -EAGAIN) {
      c.writable = false;
    } else if (n < 0) {
      detail::fail_writes(c, static_cast<int>(-n));
      return static_cast<int>(-n);
    } else {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      if (!bytes.empty()) c.writable = false;
    }
  }
  c.queue.append(bytes);
  return 0;
}

void Stream::end() noexcept {
  if (!is_open() || core_->write_closed || core_->end_pending || core_->write_error) return;
  core_->end_pending = true;
  if (!detail::pending_bytes(*core_) && !core_->writers) detail::finish_end(*core_);
}

void Stream::set_read_hook(Hook hook, void* ctx) noexcept {
  if (!is_open()) return;
  core_->read_hook = hook;
  core_->read_ctx = ctx;
  if (hook && core_->ring_recvs) detail::ring_arm(*core_);  // its edges are the receive's
}

void Stream::set_drain_hook(Hook hook, void* ctx) noexcept {
  if (!is_open()) return;
  core_->drain_hook = hook;
  core_->drain_ctx = ctx;
}

std::size_t Stream::write_queue_size() const noexcept {
  return core_ ? detail::pending_bytes(*core_) : 0;
}
std::size_t Stream::high_water_mark() const noexcept {
  return core_ ? core_->high_water_mark : kDefaultHighWaterMark;
}

void Stream::set_high_water_mark(std::size_t bytes) noexcept {
  if (!is_open()) return;
  core_->high_water_mark = bytes;
  detail::promote_writers(*core_);  // a higher mark may release suspended writers
  if (core_->ring_sends) detail::ring_kick(*core_);
}

void Stream::close() noexcept {
  if (core_) detail::close_core(*core_, true);
}

int Stream::release() noexcept {
  if (!is_open()) return -1;
  int fd = core_->watch.fd;
  detail::close_core(*core_, false);
  return fd;
}

void Stream::ref() noexcept {
  if (core_) core_->loop->io_set_ref(core_->watch, true);
}
void Stream::unref() noexcept {
  if (core_) core_->loop->io_set_ref(core_->watch, false);
}
bool Stream::has_ref() const noexcept { return is_open() && core_->watch.ref; }

int Stream::set_no_delay(bool enable) noexcept {
  if (!is_open()) return EBADF;
  if (!core_->socket) return ENOTSOCK;
  int on = enable;
  return ::setsockopt(fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0 ? 0 : errno;
}

int Stream::set_keep_alive(bool enable, unsigned initial_delay_s) noexcept {
  if (!is_open()) return EBADF;
  if (!core_->socket) return ENOTSOCK;
  int on = enable;
  if (::setsockopt(fd(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0) return errno;
  if (!enable || initial_delay_s == 0) return 0;
  int delay = static_cast<int>(initial_delay_s);
  return ::setsockopt(fd(), IPPROTO_TCP, TCP_KEEPIDLE, &delay, sizeof delay) == 0 ? 0 : errno;
}

Endpoint Stream::local_endpoint() const { return is_open() ? local_endpoint_of(fd()) : Endpoint{}; }
Endpoint Stream::remote_endpoint() const {
  return is_open() ? remote_endpoint_of(fd()) : Endpoint{};
}

}  // namespace brigade::net
