#pragma once
// WebSocket: one open WebSocket connection, server or client side, on the loop (the object
// Node's `ws` hands to 'connection', and what `new WebSocket(url)` gives).
//
//   while (auto msg = co_await ws.receive()) {     // whole messages, fragments reassembled
//     co_await ws.send(msg->data);                 // waits while buffered_amount() is high
//   }
//   // receive() gave nothing: closed; ws.close_code() / ws.close_reason() say why
//
// A handle: copies share the connection (keep them in a room, a map); the connection lives
// until it is closed, whoever holds handles. Loop thread only (handles are counted without
// atomics). Routes written as callbacks get the same object: see behavior.hpp.
//
// Reading: no task of its own; the socket's read hook parses frames as bytes arrive, answers
// pings, handles the close handshake and queues data messages for receive(). It stops reading
// the socket while the queue holds more than max_message_size bytes (or 1 MiB), so a peer that
// floods a handler that does not receive is held by TCP, not by memory. An idle connection
// holds no parser, no buffer and no coroutine frame but its handler's.
// Writing: every frame goes out in order. Frames sent before the loop moves on to its next
// event are written with one send (a handler answering a read's worth of messages makes one
// syscall); shared broadcast frames go straight to the socket. send() waits while buffered_amount()
// (bytes not yet taken by the kernel) is above high_water_mark; send_nowait() never waits but
// closes the connection (1008) once the queue passes max_buffered, so a slow reader cannot grow the
// sender's memory without bound. Broadcasts share one encoded frame (see hub.hpp).
// Liveness: with ping_interval_ms, a peer silent for one interval is pinged, and one still
// silent an interval later is dropped (close code 1006), as ws's heartbeat example does.
// Closing: close(code, reason) sends a close frame and waits up to close_timeout_ms for the
// peer's; then the TCP connection is half-closed and, at the peer's EOF (or the timeout),
// closed. A protocol error from the peer closes with its code (1002, 1007, 1009).
#include <any>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"
#include "brigade/ws/deflate.hpp"
#include "brigade/ws/frame.hpp"

namespace brigade::tls {
class Stream;
}

namespace brigade::ws {

struct Message {
  std::string data;
  bool binary = false;
};

struct Options {
  std::size_t max_message_size = 16 * 1024 * 1024;  // a bigger message closes with 1009
  std::size_t high_water_mark = 64 * 1024;          // send() waits above it
  std::size_t max_buffered = 16 * 1024 * 1024;      // send_nowait()/publish: 1008 beyond
  uint64_t ping_interval_ms = 30'000;               // 0: no heartbeat
  uint64_t close_timeout_ms = 5'000;                // wait for the peer's close frame / EOF
  DeflateOptions deflate;                           // permessage-deflate (off by default)
  std::vector<std::string> protocols;  // server: supported, preferred first; client: offered
};

namespace detail {
struct SocketCore;
struct SendWait;
}  // namespace detail

// co_await ws.receive(): the next message, or nullopt once the connection is closed.
class ReceiveAwaiter {
 public:
  explicit ReceiveAwaiter(detail::SocketCore* core) noexcept : core_(core) {}
  ReceiveAwaiter(ReceiveAwaiter&& o) noexcept : core_(o.core_) {}
  ~ReceiveAwaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h) noexcept;
  std::optional<Message> await_resume();

 private:
  detail::SocketCore* core_;
  bool linked_ = false;
};

// co_await ws.send(...): queues the frame at once; resumes when buffered_amount() is at or under
// the high-water mark. Throws Error(EPIPE, "send") if the connection is closing or closed.
class [[nodiscard]] SendAwaiter {
 public:
  SendAwaiter(detail::SocketCore* core, Opcode op, std::string_view data) noexcept
      : core_(core), data_(data), op_(op) {}
  SendAwaiter(SendAwaiter&& o) noexcept : core_(o.core_), data_(o.data_), op_(o.op_) {}
  ~SendAwaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h) noexcept;
  void await_resume() const;

 private:
  friend struct detail::SocketCore;
  // Lives in the awaiting coroutine's frame: the small fields last, so it packs into 48 bytes.
  detail::SocketCore* core_;
  std::string_view data_;
  std::coroutine_handle<> waiter_;
  SendAwaiter* next_ = nullptr;
  int error_ = 0;
  Opcode op_;
  bool linked_ = false;
};

// co_await ws.closed(): resumes once the connection is fully closed.
class ClosedAwaiter {
 public:
  explicit ClosedAwaiter(detail::SocketCore* core) noexcept : core_(core) {}
  ClosedAwaiter(ClosedAwaiter&& o) noexcept : core_(o.core_) {}
  ~ClosedAwaiter();
  bool await_ready() const noexcept;
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const noexcept {}

 private:
  detail::SocketCore* core_;
  std::coroutine_handle<> waiter_;
  bool linked_ = false;
};

// What the handshake agreed on (filled by the server's upgrade or the client's connect).
struct Negotiated {
  std::string protocol;                  // the subprotocol, or empty
  std::optional<DeflateParams> deflate;  // permessage-deflate, if agreed
};

class WebSocket {
 public:
  WebSocket() noexcept;  // empty: is_open() is false, receive() gives nullopt
  ~WebSocket();
  WebSocket(const WebSocket&) noexcept;
  WebSocket& operator=(const WebSocket&) noexcept;
  WebSocket(WebSocket&&) noexcept;
  WebSocket& operator=(WebSocket&&) noexcept;
  bool operator==(const WebSocket& o) const noexcept { return core_ == o.core_; }

  // An open connection over `stream` after a successful handshake; `buffered` holds bytes
  // that arrived after the handshake's head (already frames). For the server's upgrade and
  // the client's connect; a test may build one over a socketpair.
  static WebSocket open(net::Stream stream, std::string buffered, Role role, Options options,
                        Negotiated negotiated = {});
  // The same over TLS (wss://): the client's connect, or the server's upgrade of an HTTPS
  // connection (its session, joined back to the socket).
  static WebSocket open_tls(tls::Stream stream, std::string buffered, Role role, Options options,
                            Negotiated negotiated = {});

  ReceiveAwaiter receive() noexcept { return ReceiveAwaiter(core_); }
  SendAwaiter send(std::string_view text) noexcept {
    return SendAwaiter(core_, Opcode::kText, text);
  }
  SendAwaiter send_binary(std::string_view bytes) noexcept {
    return SendAwaiter(core_, Opcode::kBinary, bytes);
  }
  // Queues without waiting (Node's ws.send). False when the connection is closing or closed,
  // or was just closed with 1008 because its queue passed max_buffered.
  bool send_nowait(std::string_view data, bool binary = false);
  // Queues an already encoded server frame, shared with other connections (broadcast).
  bool send_frame(const std::shared_ptr<const std::string>& frame);
  void ping(std::string_view payload = {});

  // Starts the closing handshake (idempotent). `code` must be valid to send (1000-1003,
  // 1007-1014, 3000-4999), else std::invalid_argument; the reason is cut to fit 123 bytes.
  void close(uint16_t code = close_code::kNormal, std::string_view reason = {});
  // Closes the socket at once, without a handshake (close code 1006).
  void terminate() noexcept;
  ClosedAwaiter closed() noexcept { return ClosedAwaiter(core_); }

  bool is_open() const noexcept;  // no close started or received
  std::size_t buffered_amount() const noexcept;
  // After the end: the peer's close code (1005 if its frame had none), ours for a protocol
  // error we detected, or 1006 when the connection ended without a close frame.
  uint16_t close_code() const noexcept;
  std::string_view close_reason() const noexcept;
  std::string_view protocol() const noexcept;
  bool compressed() const noexcept;  // permessage-deflate is on
  Role role() const noexcept;
  uint64_t id() const noexcept;  // unique per process, for maps and logs
  // The user's own data for this connection (what Node code sets as properties of `ws`), kept
  // until the last handle goes: `ws.data() = Player{...}`, `std::any_cast<Player&>(ws.data())`.
  // Allocated on first use. Throws std::logic_error on an empty handle.
  std::any& data();

 private:
  friend struct detail::SocketCore;
  explicit WebSocket(detail::SocketCore* core) noexcept;  // takes a new reference
  detail::SocketCore* core_ = nullptr;
};

}  // namespace brigade::ws
