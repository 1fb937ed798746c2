#pragma once
// StreamCore: the state behind a Stream, on the heap so that a Stream moves freely while the
// loop holds a pointer to its IoWatch. Private to src/net.
#include <coroutine>
#include <cstddef>
#include <memory>

#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "byte_queue.hpp"

namespace brigade::net::detail {

// A coroutine waiting for the next event (connect completion).
struct WaitOp {
  std::coroutine_handle<> waiter;
  int error = 0;
  bool linked = false;
};

struct StreamCore {
  Loop* loop = nullptr;
  IoWatch watch;
  ByteQueue queue;
  ReadOp* reader = nullptr;
  WriteOp* writers = nullptr;  // FIFO of suspended writers and flushes
  WriteOp* writers_tail = nullptr;
  WaitOp* connecting = nullptr;
  Stream::Hook read_hook = nullptr;
  void* read_ctx = nullptr;
  Stream::Hook drain_hook = nullptr;
  void* drain_ctx = nullptr;
  std::size_t high_water_mark = kDefaultHighWaterMark;
  int write_error = 0;  // sticky: the errno of the send that failed
  // on_stream_io is on the stack: a Stream destroyed meanwhile (by the user code it runs) hands
  // its core to the loop's close phase instead of freeing it (docs/design.md section 3).
  // (The flags sit together: a 248-byte core is a 256-byte allocation, 272 with padding here.)
  bool dispatching = false;
  bool socket = true;
  bool readable = true;  // edge flags: true until read() says EAGAIN or reads short
  bool writable = true;
  bool peer_closed = false;  // RDHUP/HUP seen: read until 0 even after short reads
  bool closed = false;
  bool end_pending = false;  // half-close once the queue is empty
  bool write_closed = false;
  // The completion-based send path (stream_send.cpp), a socket's on a loop whose backend has
  // it: `sending` holds the bytes of the send the kernel has, unmoved until its completion;
  // the queue collects what is written meanwhile.
  bool ring_sends = false;
  // The completion-based receive path (stream_recv.cpp), a socket's on a loop whose backend has
  // it: one multishot receive, armed at the first read, fills the backend's buffers; a
  // completion's bytes are read straight from there while the reader or read hook runs, and
  // what it leaves is copied to `inbox` before the buffer goes back. Past kReadAhead unread
  // bytes the receive is paused (the kernel holds the rest, as TCP's window says), and armed
  // again once read. (In the flags' padding: the core stays a 288-byte allocation.)
  bool ring_recvs = false;
  bool recv_eof = false;   // the end of the stream (or the error, once read) came
  uint8_t recv_error = 0;  // the receive failed (an errno): read returns it after the bytes
  IoCompletion send_op;
  ByteQueue sending;
  IoRecv recv_op;
  std::unique_ptr<ByteQueue> inbox;  // while a reader has left bytes unread
};

// Unread bytes past which a stream stops receiving (Node's readableHighWaterMark is 16 KiB; a
// socket's own buffer holds far more): what the stream holds for a reader that does not read.
inline constexpr std::size_t kReadAhead = 64 * 1024;

// Bytes written and not yet taken by the kernel (Node's writableLength).
inline std::size_t pending_bytes(const StreamCore& c) noexcept {
  return c.queue.size() + c.sending.size();
}
inline bool send_in_flight(const StreamCore& c) noexcept { return c.send_op.tag != 0; }

// Stream's friend: builds streams for Listener and connect, and reaches their core.
struct StreamAccess {
  // `fd` must already be O_NONBLOCK. Throws Error(errno, "adopt").
  static Stream make(Loop& loop, int fd, bool socket);
  static StreamCore& core(Stream& s) noexcept { return *s.core_; }
};

void on_stream_io(IoWatch& w, uint32_t events);
void close_core(StreamCore& c, bool close_fd) noexcept;
void flush(StreamCore& c);
// flush() from a send's completion: `had_bytes` says the queue held bytes before it.
void flush_from(StreamCore& c, bool had_bytes);
void promote_writers(StreamCore& c);
long core_read(StreamCore& c, std::span<char> buf) noexcept;
long core_send(StreamCore& c, std::span<const char> bytes) noexcept;
void fail_writes(StreamCore& c, int err) noexcept;
void finish_end(StreamCore& c) noexcept;

// stream_recv.cpp
long ring_read(StreamCore& c, std::span<char> buf) noexcept;
long ring_peek(const StreamCore& c, std::span<char> buf) noexcept;  // -EAGAIN: nothing held
void ring_arm(StreamCore& c) noexcept;
void on_recv(IoRecv& op, long result, const char* bytes, bool more);
void ring_drop(StreamCore& c) noexcept;  // close: the unread bytes go
// stream_io.cpp: the reader, or else the read hook, is told bytes may be there.
void dispatch_readable(StreamCore& c);

// stream_send.cpp
std::size_t ring_room(const StreamCore& c) noexcept;
bool ring_send(StreamCore& c) noexcept;
void ring_kick(StreamCore& c) noexcept;
void on_send_prepare(IoCompletion& op);
void on_send_done(IoCompletion& op);
std::unique_ptr<char[]> release_sending(IoCompletion& op);

}  // namespace brigade::net::detail
