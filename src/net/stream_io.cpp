// Stream's I/O paths: the edge-triggered event handler, reads, the write queue and its
// suspended writers. No allocation here in the steady state.
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>

#include "stream_core.hpp"

namespace brigade::net::detail {

namespace {

void resume_later(Loop& loop, std::coroutine_handle<> h) {
  loop.queue_microtask([h] { h.resume(); });
}

// A finished writer resumes from the microtask queue, never inside the flush that freed it.
void complete_write(StreamCore& c, WriteOp& op, int err) noexcept {
  assert(op.linked && "a writer completes once");
  op.linked = false;
  op.error = err;
  resume_later(*c.loop, op.waiter);
}

WriteOp* pop_writer(StreamCore& c) noexcept {
  assert(c.writers && c.writers_tail && "pop from an empty writer FIFO");
  WriteOp* op = c.writers;
  c.writers = op->next;
  if (!c.writers) c.writers_tail = nullptr;
  op->next = nullptr;
  return op;
}

// Sends from `bytes` as far as the kernel takes; false on a hard error (writes then failed).
bool send_now(StreamCore& c, std::span<const char>& bytes, int& err) noexcept {
  long n = core_send(c, bytes);
  if (n == -EAGAIN) {
    c.writable = false;
    return true;
  }
  if (n < 0) {
    err = static_cast<int>(-n);
    fail_writes(c, err);
    return false;
  }
  bytes = bytes.subspan(static_cast<std::size_t>(n));
  if (!bytes.empty()) c.writable = false;  // the socket buffer is full: wait for io::kWritable
  return true;
}

// Sends a send_file's bytes until the socket is full or the op is done; false on a hard error.
// Loops to EAGAIN: a short count alone does not prove the socket full, and the writable edge
// only comes after EAGAIN.
bool send_file_now(StreamCore& c, WriteOp& op, int& err) noexcept {
  constexpr uint64_t kChunk = 1 << 20;  // bounds one call's time on the loop
  while (op.file_left) {
    auto off = static_cast<off_t>(op.file_offset);
    auto want = static_cast<std::size_t>(std::min(op.file_left, kChunk));
    ssize_t n = ::sendfile(c.watch.fd, op.file_fd, &off, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.writable = false;
      return true;
    }
    if (n <= 0) {
      err = n == 0 ? EIO : errno;  // 0: the file is shorter than promised (truncated meanwhile)
      return false;
    }
    op.file_offset += static_cast<uint64_t>(n);
    op.file_left -= static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

// The reader, or else the read hook, gets the readable edge. Always the handler's last act.
void dispatch_readable(StreamCore& c) {
  assert(!c.closed && "a closed stream's reader was failed by close_core");
  if (ReadOp* op = c.reader) {
    assert(op->linked);
    long n = core_read(c, op->buf);
    if (n == -EAGAIN) return;
    c.reader = nullptr;
    op->linked = false;
    op->result = n;
    op->waiter.resume();
  } else if (c.read_hook) {
    c.read_hook(c.read_ctx);
  }
}

long core_read(StreamCore& c, std::span<char> buf) noexcept {
  if (c.ring_recvs) return ring_read(c, buf);
  if (!c.readable) return -EAGAIN;
  for (;;) {
    ssize_t n = ::read(c.watch.fd, buf.data(), buf.size());
    if (n >= 0) {
      // A short read drained the kernel buffer; the next arrival raises a new edge. After
      // RDHUP no edge is coming, so keep reading until read() returns 0.
      if (n > 0 && static_cast<std::size_t>(n) < buf.size() && !c.peer_closed) c.readable = false;
      return n;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c.readable = false;
      return -EAGAIN;
    }
    return -errno;
  }
}

long core_send(StreamCore& c, std::span<const char> bytes) noexcept {
  for (;;) {
    ssize_t n = c.socket ? ::send(c.watch.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                         : ::write(c.watch.fd, bytes.data(), bytes.size());
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -EAGAIN;
    return -errno;
  }
}

void fail_writes(StreamCore& c, int err) noexcept {
  c.write_error = err;
  c.end_pending = false;
  c.queue.clear();
  if (!send_in_flight(c)) c.sending.clear();  // else the kernel still reads it: the CQE clears it
  while (c.writers) complete_write(c, *pop_writer(c), err);
}

void finish_end(StreamCore& c) noexcept {
  assert(!pending_bytes(c) && !c.writers && "half-close only once every byte is out");
  c.end_pending = false;
  c.write_closed = true;
  if (c.socket)
    ::shutdown(c.watch.fd, SHUT_WR);  // ENOTCONN when the peer is gone already: nothing to do
  else
    close_core(c, true);  // a pipe has no half-close: closing the write end is the EOF
}

// Moves suspended writers whose bytes now fit under the high-water mark into the queue, and
// completes flushes that have nothing left before them.
void promote_writers(StreamCore& c) {
  while (WriteOp* op = c.writers) {
    if (op->file_fd >= 0) break;  // its bytes are the file's: flush sends them, never the queue
    if (op->until_empty) {
      if (pending_bytes(c)) break;
    } else if (c.ring_sends) {
      // The ring sends from the stream's buffers only: what fits under the mark is copied now,
      // the rest as the kernel takes the bytes before it.
      std::size_t n = std::min(ring_room(c), op->rest.size());
      c.queue.append(op->rest.first(n));
      op->rest = op->rest.subspan(n);
      if (!op->rest.empty()) break;
    } else {
      if (c.queue.size() + op->rest.size() > c.high_water_mark) break;
      c.queue.append(op->rest);
    }
    complete_write(c, *pop_writer(c), 0);
  }
}

void flush(StreamCore& c) { flush_from(c, pending_bytes(c) || c.writers); }

void flush_from(StreamCore& c, bool had_bytes) {
  assert(!c.write_closed || (!pending_bytes(c) && !c.writers));  // nothing queues after the end
  for (;;) {
    promote_writers(c);
    if (c.ring_sends && pending_bytes(c)) {
      if (!ring_send(c)) return;  // in flight (its completion goes on), socket full, or failed
      continue;
    }
    if (!c.writable) break;
    // The queue goes first; then the head writer's own buffer, without a copy.
    bool from_queue = !c.queue.empty();
    if (!from_queue && c.writers && c.writers->file_fd >= 0) {
      int err = 0;
      if (!send_file_now(c, *c.writers, err)) {
        fail_writes(c, err);
        return;
      }
      if (c.writers->file_left) break;  // the socket is full
      complete_write(c, *pop_writer(c), 0);
      continue;
    }
    std::span<const char> out = from_queue  ? c.queue.front()
                                : c.writers ? c.writers->rest
                                            : std::span<const char>{};
    if (out.empty()) break;
    long n = core_send(c, out);
    if (n == -EAGAIN) {
      c.writable = false;
      break;
    }
    if (n < 0) {
      fail_writes(c, static_cast<int>(-n));
      return;
    }
    auto sent = static_cast<std::size_t>(n);
    if (from_queue)
      c.queue.consume(sent);
    else
      c.writers->rest = c.writers->rest.subspan(sent);
    if (sent < out.size()) c.writable = false;
  }
  if (pending_bytes(c) || c.writers) return;
  if (c.end_pending) finish_end(c);
  if (had_bytes && c.drain_hook && !c.closed) c.drain_hook(c.drain_ctx);  // last: may destroy c
}

void on_stream_io(IoWatch& w, uint32_t events) {
  StreamCore& c = *static_cast<StreamCore*>(w.data);
  if (events & (io::kReadable | io::kPeerClosed | io::kHangup | io::kError)) c.readable = true;
  if (events & (io::kPeerClosed | io::kHangup)) c.peer_closed = true;
  if (events & (io::kWritable | io::kHangup | io::kError)) c.writable = true;
  if (c.connecting) {
    if (!(events & (io::kWritable | io::kError | io::kHangup))) return;
    WaitOp* op = std::exchange(c.connecting, nullptr);
    op->linked = false;
    op->waiter.resume();
    return;
  }
  // From here user code runs (drain and read hooks, resumed readers): it may close or destroy
  // the Stream; the core stays valid until the close phase, so `closed` is what we look at.
  bool outer = std::exchange(c.dispatching, true);  // kept: a nested loop may dispatch it again
  if (c.writable && (pending_bytes(c) || c.writers)) flush(c);
  // With receives on the ring the bytes, the end and the errors come as their completions.
  if (c.readable && !c.ring_recvs && !c.closed) dispatch_readable(c);
  c.dispatching = outer;
}

// ---- The awaiters' entry points ----------------------------------------------------------

Loop& core_loop(StreamCore& core) noexcept { return *core.loop; }

bool read_start(StreamCore* c, ReadOp& op) noexcept {
  if (!c || c->closed) {
    op.result = -EBADF;
    return true;
  }
  if (op.buf.empty() || c->reader) {
    op.result = op.buf.empty() ? -EINVAL : -EBUSY;
    return true;
  }
  long n = core_read(*c, op.buf);
  if (n == -EAGAIN) return false;
  op.result = n;
  return true;
}

void read_suspend(StreamCore& c, ReadOp& op, std::coroutine_handle<> h) noexcept {
  assert(!c.reader && !c.closed && "one reader at a time, on an open stream");
  op.waiter = h;
  op.linked = true;
  c.reader = &op;
}

void read_cancel(StreamCore& c, ReadOp& op) noexcept {
  assert(c.reader == &op && op.linked);
  c.reader = nullptr;
  op.linked = false;
  op.result = -ECANCELED;
  op.waiter.resume();
}

void read_abandon(StreamCore& c, ReadOp& op) noexcept {
  if (c.reader == &op) c.reader = nullptr;
  op.linked = false;
}

bool write_start(StreamCore* c, WriteOp& op) noexcept {
  if (op.end_after && c && c->write_closed) return true;  // ended already (a pipe: closed too)
  if (!c || c->closed) {
    op.error = EBADF;
    return true;
  }
  if (c->write_error) {
    op.error = c->write_error;
    return true;
  }
  if (op.end_after) c->end_pending = true;
  if (op.until_empty && !pending_bytes(*c) && !c->writers) {
    if (op.end_after) finish_end(*c);
    return true;
  }
  if (op.until_empty) return false;
  if (c->write_closed || c->end_pending) {
    op.error = EPIPE;  // write after end
    return true;
  }
  if (c->writers) return false;  // FIFO: wait behind the suspended writers
  if (op.file_fd >= 0) {
    if (pending_bytes(*c) || !c->writable || !op.file_left) return !op.file_left;
    if (!send_file_now(*c, op, op.error)) {
      fail_writes(*c, op.error);
      return true;
    }
    return !op.file_left;
  }
  if (c->ring_sends) {
    std::size_t n = std::min(ring_room(*c), op.rest.size());
    c->queue.append(op.rest.first(n));
    op.rest = op.rest.subspan(n);
    ring_kick(*c);
    op.error = c->write_error;  // the fallback's send() may have failed at once
    return op.error || op.rest.empty();
  }
  if (c->queue.empty() && c->writable && !op.rest.empty() && !send_now(*c, op.rest, op.error))
    return true;
  if (c->queue.size() + op.rest.size() > c->high_water_mark) return false;
  c->queue.append(op.rest);
  return true;
}

void write_suspend(StreamCore& c, WriteOp& op, std::coroutine_handle<> h) noexcept {
  assert(!op.linked && !c.closed);
  assert((c.writers == nullptr) == (c.writers_tail == nullptr));
  op.waiter = h;
  op.linked = true;
  op.next = nullptr;
  if (c.writers_tail)
    c.writers_tail->next = &op;
  else
    c.writers = &op;
  c.writers_tail = &op;
}

void write_abandon(StreamCore& c, WriteOp& op) noexcept {
  WriteOp* prev = nullptr;
  for (WriteOp* p = c.writers; p; prev = p, p = p->next) {
    if (p != &op) continue;
    (prev ? prev->next : c.writers) = p->next;
    if (c.writers_tail == p) c.writers_tail = prev;
    break;
  }
  op.linked = false;
}

}  // namespace brigade::net::detail
