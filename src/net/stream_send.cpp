// Stream's completion-based send path, for a socket on a loop whose backend performs sends
// (io_uring): written bytes gather in the queue; one send at a time is the kernel's, from
// `sending`, which nothing moves or frees until its completion; the completion continues a short
// send, or takes the next batch from the queue, or ends the flush as epoll's writable edge does.
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <utility>

#include "stream_core.hpp"

namespace brigade::net::detail {

// How many more bytes of a suspended writer the queue takes: up to the high-water mark, and
// something even under a mark of 0 once all is out (the bytes must go through a buffer here).
std::size_t ring_room(const StreamCore& c) noexcept {
  std::size_t pending = pending_bytes(c);
  if (pending < c.high_water_mark) return c.high_water_mark - pending;
  return pending == 0 ? kDefaultHighWaterMark : 0;
}

// Hands the pending bytes to the kernel: true if some went synchronously (the caller looks
// again), false once a send is staged or in flight, the socket is full, or the writes failed.
bool ring_send(StreamCore& c) noexcept {
  assert(c.ring_sends && !c.closed);
  if (send_in_flight(c)) return false;  // staged: what is queued until the wait goes with it
  if (c.loop->io_send(c.send_op, c.watch.fd) == 0) return false;
  // The ring cannot take it now (before the loop's first wait): a send() as on epoll.
  if (!c.writable) return false;
  if (c.sending.empty()) std::swap(c.sending, c.queue);
  std::span<const char> bytes = c.sending.front();
  long n = core_send(c, bytes);
  if (n == -EAGAIN) {
    c.writable = false;
    return false;
  }
  if (n < 0) {
    fail_writes(c, static_cast<int>(-n));
    return false;
  }
  c.sending.consume(static_cast<std::size_t>(n));
  if (static_cast<std::size_t>(n) < bytes.size()) {
    c.writable = false;  // the writable edge calls flush()
    return false;
  }
  return true;
}

// Just before submission: the rest of a short send, else everything queued until now.
void on_send_prepare(IoCompletion& op) {
  StreamCore& c = *static_cast<StreamCore*>(op.data);
  if (c.sending.empty()) std::swap(c.sending, c.queue);
  std::span<const char> bytes = c.sending.front();
  op.bytes = bytes.data();
  op.size = bytes.size();
}

std::unique_ptr<char[]> release_sending(IoCompletion& op) {
  return static_cast<StreamCore*>(op.data)->sending.release();
}

void ring_kick(StreamCore& c) noexcept {
  while (pending_bytes(c) && ring_send(c)) {
  }
}

void on_send_done(IoCompletion& op) {
  StreamCore& c = *static_cast<StreamCore*>(op.data);
  assert(!c.closed && "a closed stream's send was cancelled: its completion is dropped");
  if (op.result < 0 || c.write_error) {
    c.sending.clear();
    if (!c.write_error) fail_writes(c, static_cast<int>(-op.result));  // as a failed send()
    return;
  }
  assert(static_cast<std::size_t>(op.result) <= c.sending.size());
  c.sending.consume(static_cast<std::size_t>(op.result));
  if (c.sending.empty() && c.queue.empty()) {
    c.sending.shed();  // an idle stream holds no buffer (HTTP's idle keep-alive connections)
    c.queue.shed();
  }
  bool outer = std::exchange(c.dispatching, true);  // a hook may destroy the Stream
  flush_from(c, true);
  c.dispatching = outer;
}

}  // namespace brigade::net::detail
