// Stream's completion-based receive path, for a socket on a loop whose backend performs
// multishot receives (io_uring): the kernel reads into its provided buffers without a system
// call per read, and a completion's bytes go to the reader or read hook straight from that
// buffer. The layers above keep reading through try_read/read, as on epoll: a read copies from
// the unread bytes (`inbox` first, then the completion's `held` bytes) and says -EAGAIN once
// they ran out, which is when the receive must be armed. While none is armed a read asks the
// socket itself, as on epoll: a read outside the loop's dispatch still finds what arrived.
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "stream_core.hpp"

namespace brigade::net::detail {

namespace {

// The completion being dispatched: its stream and the bytes the reader has not taken yet. Not
// in the stream (its core stays small): only one completion runs at a time per thread, or
// one per nested loop, each restoring its caller's.
struct Held {
  StreamCore* core = nullptr;
  std::span<const char> bytes;
};
thread_local Held t_held;

// The stream's bytes of the completion being dispatched (empty if it is another's).
std::span<const char> held_of(const StreamCore& c) noexcept {
  return t_held.core == &c ? t_held.bytes : std::span<const char>();
}

std::size_t copy_out(std::span<const char> from, std::span<char> to) noexcept {
  std::size_t n = std::min(from.size(), to.size());
  std::memcpy(to.data(), from.data(), n);
  return n;
}

std::size_t inbox_size(const StreamCore& c) noexcept { return c.inbox ? c.inbox->size() : 0; }

void keep_unread(StreamCore& c, std::span<const char>& bytes) {
  if (bytes.empty()) return;
  if (!c.inbox) c.inbox = std::make_unique<ByteQueue>();
  c.inbox->append(bytes);
  bytes = {};
}

// Whether more bytes can still come and be wanted: no end, no error, still open.
bool receiving(const StreamCore& c) noexcept { return !c.closed && !c.recv_eof && !c.recv_error; }

// One recv() while no receive is armed (none can take bytes before it: the order holds).
long recv_now(StreamCore& c, std::span<char> buf) noexcept {
  for (;;) {
    ssize_t n = ::recv(c.watch.fd, buf.data(), buf.size(), 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

}  // namespace

// Armed lazily, at the first read, so a stream nobody reads (a connection handed to another
// process) never takes the kernel's bytes; armed again whenever the unread bytes run out.
void ring_arm(StreamCore& c) noexcept {
  if (c.recv_op.tag || !receiving(c) || inbox_size(c) >= kReadAhead) return;
  if (int err = c.loop->io_recv(c.recv_op, c.watch.fd)) c.recv_error = static_cast<uint8_t>(err);
}

long ring_read(StreamCore& c, std::span<char> buf) noexcept {
  std::span<const char> held = held_of(c);
  if (!inbox_size(c) && held.empty() && !c.recv_op.tag && receiving(c)) {
    long n = recv_now(c, buf);
    if (n == 0) c.recv_eof = true;
    if (n < 0 && n != -EAGAIN) c.recv_eof = true;  // reported once, then the end, as below
    if (n == -EAGAIN || (n > 0 && static_cast<std::size_t>(n) < buf.size())) ring_arm(c);
    return n;
  }
  std::size_t n = 0;
  if (inbox_size(c)) {
    n = copy_out(c.inbox->front(), buf);
    c.inbox->consume(n);
    if (c.inbox->empty()) {  // an idle stream holds no buffer, nor the queue
      c.inbox->shed();
      c.inbox.reset();
    }
  }
  if (n < buf.size() && !held.empty()) {
    std::size_t m = copy_out(held, buf.subspan(n));
    held = held.subspan(m);
    t_held.bytes = held;
    n += m;
  }
  // A short read takes every byte held (the hooks' contract: no edge comes for bytes left).
  if (!inbox_size(c) && held.empty()) ring_arm(c);
  if (n) return static_cast<long>(n);
  if (c.recv_error) {  // once, as recv() reports a socket error; the end of stream after it
    c.recv_eof = true;
    return -static_cast<long>(std::exchange(c.recv_error, 0));
  }
  return c.recv_eof ? 0 : -EAGAIN;
}

long ring_peek(const StreamCore& c, std::span<char> buf) noexcept {
  std::span<const char> held = held_of(c);
  std::size_t n = 0;
  if (inbox_size(c)) n = copy_out(c.inbox->front(), buf);
  if (n < buf.size() && !held.empty()) n += copy_out(held, buf.subspan(n));
  if (n) return static_cast<long>(n);
  if (c.recv_error) return -c.recv_error;
  return c.recv_eof ? 0 : -EAGAIN;
}

void ring_drop(StreamCore& c) noexcept {
  if (t_held.core == &c) t_held.bytes = {};
  c.inbox.reset();
}

void on_recv(IoRecv& op, long result, const char* bytes, bool more) {
  StreamCore& c = *static_cast<StreamCore*>(op.data);
  assert(!c.closed && "a closed stream's receive was cancelled: its completions are dropped");
  bool news = true;
  std::span<const char> got;
  if (result > 0)
    got = std::span<const char>(bytes, static_cast<std::size_t>(result));
  else if (result == 0)
    c.recv_eof = true;
  else if (result == -ECANCELED || result == -ENOBUFS)  // paused, or the buffers ran out
    news = false;
  else
    c.recv_error = static_cast<uint8_t>(-result);
  // A nested loop's completion of the same stream: the outer one's rest goes first.
  if (t_held.core == &c) keep_unread(c, t_held.bytes);
  Held outer = std::exchange(t_held, Held{&c, got});
  bool dispatching = std::exchange(c.dispatching, true);  // a hook may destroy the Stream
  if (news) dispatch_readable(c);
  if (!c.closed) {
    // What the reader left is copied: the buffer goes back to the kernel after this batch.
    keep_unread(c, t_held.bytes);
    if (inbox_size(c) >= kReadAhead)
      c.loop->io_recv_pause(c.recv_op);  // the kernel keeps the rest until it is read
    else if (!more)
      ring_arm(c);  // ended by ENOBUFS or a pause since read: go on
  }
  t_held = outer;
  c.dispatching = dispatching;
}

}  // namespace brigade::net::detail
