#pragma once
// The state of one WebSocket connection, shared by its handles. Private to src/ws.
//
// No coroutine of its own: the transport's read hook parses frames as bytes arrive and hands
// whole messages to the route's Behavior callbacks or, for receive(), to the inbox; its drain
// hook moves queued frames on. An idle connection is this struct (104 bytes, a 112-byte allocation)
// and nothing else: no parser (made per read, kept only while a frame is partly read), no buffers,
// a count of its handles instead of a shared_ptr's control block, and what is rarely used
// (subprotocol, deflate, the send queue, the close reason and timer, waiters, user data) in `Rare`
// and the coroutine API's inbox in `Inbox`, each allocated on first use.
#include <any>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/ws/behavior.hpp"
#include "brigade/ws/deflate.hpp"
#include "brigade/ws/frame.hpp"
#include "brigade/ws/websocket.hpp"

namespace brigade::ws::detail {

// A FIFO that holds no memory while empty (std::deque allocates ~600 bytes up front): a vector
// read from `head`, released when drained, compacted when half read.
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
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() noexcept {
    std::vector<T>().swap(items_);
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

// A reference to a SocketCore, for the loop's callbacks (the handles' count, not atomic: a
// connection belongs to its loop's thread).
class CoreRef {
 public:
  explicit CoreRef(SocketCore* core) noexcept;
  CoreRef(const CoreRef& o) noexcept : CoreRef(o.core_) {}
  CoreRef(CoreRef&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  CoreRef& operator=(const CoreRef&) = delete;
  ~CoreRef();
  SocketCore* operator->() const noexcept { return core_; }

 private:
  SocketCore* core_;
};

// What the sockets of one route share (a client connection has its own): the options, and the
// route's callbacks (null for the coroutine API). One pointer in each socket reaches both.
struct Profile : Options {
  const Behavior* behavior = nullptr;  // lives as long as the profile
};

struct SocketCore {
  SocketCore(Loop& loop, Role role, std::shared_ptr<const Profile> profile, Negotiated negotiated);
  ~SocketCore();
  SocketCore(const SocketCore&) = delete;
  SocketCore& operator=(const SocketCore&) = delete;

  // What few connections need; allocated on first use, kept until the end.
  struct Rare {
    std::string protocol;
    std::unique_ptr<Deflater> deflater;
    std::string reason;
    Fifo<std::shared_ptr<const std::string>> outbox;  // frames the transport has not taken
    std::size_t out_bytes = 0;
    SendAwaiter* senders = nullptr;  // waiting for buffered() to fall under the mark
    SendAwaiter* senders_tail = nullptr;
    std::vector<std::coroutine_handle<>> close_waiters;
    TimerId close_timer;
    std::any data;  // WebSocket::data()
  };
  Rare& rare_state();
  // The coroutine API's: messages receive() has not taken, and the coroutine waiting in it.
  struct Inbox {
    Fifo<Message> messages;
    std::size_t bytes = 0;
    std::coroutine_handle<> receiver;
  };
  Inbox& inbox_state();
  std::size_t inbox_bytes() const noexcept { return inbox ? inbox->bytes : 0; }

  // Takes ownership of itself (an open connection lives until its end, whoever holds handles)
  // and starts its heartbeat.
  void own();
  // Starts reading: `buffered` came with the handshake; then the read hook.
  void start(std::string_view buffered);
  // Encodes one message (compressed when agreed and worth it, masked on a client) and sends
  // or queues it; false if the connection is closing (data) or closed.
  bool send_message(Opcode op, std::string_view data, bool control = false);
  // Sends or queues an already encoded frame, shared with other connections.
  bool send_shared(const std::shared_ptr<const std::string>& frame);
  std::size_t buffered() const noexcept;
  bool can_send() const noexcept { return !finished && !close_sent; }
  void send_close(uint16_t code, std::string_view reason);
  void begin_close(uint16_t code, std::string_view reason);
  void finish(uint16_t code, std::string_view reason) noexcept;
  void wake_senders() noexcept;
  void wake_receiver() noexcept;
  void resume_reading();  // after receive() took the inbox under its limit
  std::size_t inbox_limit() const noexcept;
  // A Behavior callback threw: this socket alone closes, with 1011.
  void callback_failed();
  WebSocket handle() noexcept;  // a new handle on it

  uint32_t refs = 0;  // handles, CoreRefs, and one for itself while open
  uint16_t code = close_code::kAbnormal;
  Role role;
  bool secure : 1 = false;
  bool keep_parser : 1 = false;  // deflate: the inflater's context outlives messages
  bool close_sent : 1 = false;
  bool close_received : 1 = false;
  bool close_after_write : 1 = false;  // half-close once the send queue is flushed
  bool shut : 1 = false;
  bool finished : 1 = false;
  bool heard : 1 = false;        // something arrived since the last heartbeat tick
  bool pinged : 1 = false;       // the heartbeat pinged and waits for an answer
  bool read_paused : 1 = false;  // the inbox is over its limit: TCP holds the peer
  bool owned : 1 = false;        // holds a reference to itself (open)
  bool want_drain : 1 = false;   // a send left buffered() over the mark: Behavior::drain is due
  Loop* loop;
  std::shared_ptr<const Profile> options;  // shared by the sockets of one route
  uint64_t id;
  net::Stream tcp;                 // ws://
  tls::Stream tls;                 // wss:// (tcp is then empty)
  std::unique_ptr<Parser> parser;  // only while a frame is partly read, or with deflate
  std::unique_ptr<Inbox> inbox;
  // Frames sent since the loop's current event began, written with one send from a microtask
  // (a handler answering a read's worth of messages makes one syscall, not one per message).
  std::unique_ptr<std::string> batch;
  std::unique_ptr<Rare> rare;
  TimerId heartbeat;

 private:
  static void on_readable(void* self);
  static void on_drain(void* self);
  void read_available();
  void feed(std::string_view bytes);
  void deliver(std::string data, bool binary);
  // `shared` (or null): the frame's owner, kept by the outbox if it has to wait there.
  bool transmit(std::string_view frame, const std::shared_ptr<const std::string>* shared,
                bool control);
  void pump();
  void drained();  // Behavior::drain, if a send left buffered() over the mark and it is not now
  void flush_batch();
  void end_if_flushed();
  void on_heartbeat();
  void start_close_timer(uint16_t code_on_timeout);
  int write_now(std::string_view bytes) noexcept;
  std::size_t transport_queue() const noexcept;
};

// A server's socket over the route's shared options (server.cpp).
// `behavior` (may be null: the coroutine API) must live as long as `options` does.
// A server's socket over its route's profile; a Behavior's open() runs before the first message
// is read.
WebSocket open_server_socket(net::Stream stream, std::string_view buffered,
                             std::shared_ptr<const Profile> profile, Negotiated negotiated,
                             const Handshake& handshake);
WebSocket open_server_socket_tls(tls::Stream stream, std::string_view buffered,
                                 std::shared_ptr<const Profile> profile, Negotiated negotiated,
                                 const Handshake& handshake);

}  // namespace brigade::ws::detail
