#pragma once
// The state of one WebSocket connection, shared by its handles, its reader and its writer.
// Private to src/ws.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/ws/deflate.hpp"
#include "brigade/ws/frame.hpp"
#include "brigade/ws/websocket.hpp"

namespace brigade::ws::detail {

// A FIFO that costs nothing while empty (std::deque allocates ~600 bytes up front, per queue,
// per connection): a vector read from `head`, reset when drained, compacted when half read.
template <typename T>
class Fifo {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  T& front() noexcept { return items_[head_]; }
  void push_back(T v) { items_.push_back(std::move(v)); }
  void pop_front() {
    items_[head_++] = T();
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() noexcept {
    items_.clear();
    items_.shrink_to_fit();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

struct SocketCore : std::enable_shared_from_this<SocketCore> {
  SocketCore(Loop& loop, Role role, Options options, Negotiated negotiated);
  ~SocketCore();

  void start(std::string buffered);  // spawns the reader
  // The frame for one message: compressed when agreed and worth it, masked on a client.
  std::shared_ptr<const std::string> encode(Opcode op, std::string_view data);
  // Queues a frame; false if the connection is closing (data) or closed.
  bool enqueue(std::shared_ptr<const std::string> frame, bool control = false);
  std::size_t buffered() const noexcept;
  bool can_send() const noexcept { return !finished && !close_sent; }
  void send_close(uint16_t code, std::string_view reason);
  void begin_close(uint16_t code, std::string_view reason);
  void finish(uint16_t code, std::string_view reason) noexcept;
  void feed(std::string_view bytes);
  void wake_senders() noexcept;
  void wake_receiver() noexcept;
  void kick_writer();
  void on_heartbeat();
  static void on_drain(void* self);

  Loop* loop;
  Role role;
  Options options;
  Negotiated negotiated;
  uint64_t id;
  net::Stream tcp;
  std::unique_ptr<tls::Stream> tls;  // wss: reads and writes go through it
  std::unique_ptr<char[]> tls_buf;
  Parser parser;
  std::unique_ptr<Deflater> deflater;
  std::string pending;  // bytes that came with the handshake

  Fifo<Message> inbox;
  std::size_t inbox_bytes = 0;
  std::coroutine_handle<> receiver;
  std::coroutine_handle<> reader_parked;  // the reader waits for receive() to take messages

  Fifo<std::shared_ptr<const std::string>> outbox;  // frames not yet handed to the socket
  std::size_t out_bytes = 0;
  SendAwaiter* senders = nullptr;  // waiting for buffered() to fall under the mark
  SendAwaiter* senders_tail = nullptr;
  std::vector<std::coroutine_handle<>> close_waiters;
  bool writing = false;
  bool shut = false;

  bool close_sent = false;
  bool close_received = false;
  bool close_after_write = false;  // half-close once the outbox is flushed
  bool finished = false;
  bool heard = false;   // something arrived since the last heartbeat tick
  bool pinged = false;  // the heartbeat pinged and waits for an answer
  uint16_t code = close_code::kAbnormal;
  std::string reason;
  Timer close_timer;
  Timer heartbeat;
};

}  // namespace brigade::ws::detail
