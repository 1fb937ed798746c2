#pragma once
// tls::Stream: TLS over a net::Stream, on the loop. OpenSSL works on memory buffers; this class
// moves the bytes between them and the socket with the stream's own non-blocking reads and
// writes, so the handshake, reads and writes never block the loop.
//
//   tls::Stream s = co_await tls::Stream::accept(std::move(tcp), server_ctx);      // server
//   tls::Stream c = co_await tls::Stream::connect(std::move(tcp), client_ctx, "example.com");
//   std::size_t n = co_await c.read(buf);     // 0: the peer closed (close_notify or EOF)
//   co_await c.write("GET / HTTP/1.1\r\n...");
//   co_await c.shutdown();                    // close_notify, then a TCP half-close
//
// A handshake that fails throws TlsError with the reason ("certificate has expired",
// "hostname mismatch", "unable to get local issuer certificate", "wrong version number" for
// plain text sent to a TLS port); one that does not finish within `handshake_timeout_ms` throws
// TimeoutError. Either way the socket is closed and everything freed.
// One read and one write may be in flight at a time (as on net::Stream). Loop thread only.
// Besides the coroutine reads and writes, the non-suspending API below mirrors net::Stream's
// (try_read, write_nowait, hooks) so callback-driven code runs over TLS unchanged.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"
#include "brigade/tls/context.hpp"

namespace brigade::tls {

inline constexpr uint64_t kDefaultHandshakeTimeoutMs = 10000;

class Session;

class Stream {
 public:
  Stream() noexcept;
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  ~Stream();

  static Task<Stream> accept(net::Stream tcp, Context ctx,
                             uint64_t handshake_timeout_ms = kDefaultHandshakeTimeoutMs);
  // `host` is sent as SNI and, if the context verifies, checked against the certificate.
  static Task<Stream> connect(net::Stream tcp, Context ctx, std::string host,
                              uint64_t handshake_timeout_ms = kDefaultHandshakeTimeoutMs);

  Task<std::size_t> read(std::span<char> buf);
  Task<void> write(std::string_view bytes);
  // Sends close_notify and half-closes the socket. Idempotent.
  Task<void> shutdown();
  void close() noexcept;  // at once, no close_notify

  // ---- Non-suspending API (net::Stream's, for callback-style code: the HTTP server) ------
  // Plaintext bytes (>0), 0 at the end (close_notify or EOF), -EPROTO on a TLS error, another
  // -errno from the socket, -EAGAIN when nothing more can be had now. OpenSSL hands out one
  // record per call, so a short read does not mean the socket is drained: read until -EAGAIN
  // (or stop and come back by yourself) before waiting for the read hook.
  long try_read(std::span<char> buf) noexcept;
  // Whether plaintext can be read now (a closing server's check): decrypts what arrived,
  // keeps it for the next read.
  bool has_input() noexcept;
  // Encrypts `bytes` and hands the records to the socket's write queue (net::Stream's
  // write_nowait: never suspends; 0 or an errno, EPROTO on a TLS error).
  int write_nowait(std::span<const char> bytes) noexcept;
  int write_nowait(std::string_view bytes) noexcept {
    return write_nowait(std::span<const char>(bytes.data(), bytes.size()));
  }
  // close_notify, then a half-close once the queue is flushed; never suspends.
  void end() noexcept;
  // The socket's hooks and queue (ciphertext bytes), as on net::Stream.
  void set_read_hook(net::Stream::Hook hook, void* ctx) noexcept;
  void set_drain_hook(net::Stream::Hook hook, void* ctx) noexcept;
  std::size_t write_queue_size() const noexcept;
  std::size_t high_water_mark() const noexcept;

  std::string_view alpn() const noexcept;     // the protocol both sides chose, or empty
  std::string_view version() const noexcept;  // "TLSv1.3"
  bool session_reused() const noexcept;
  net::Stream& socket() noexcept;

  // The socket and the TLS state apart, for code that keeps the socket itself (the HTTP
  // server's connection: its hooks, queue and close stay the socket's). The stream is empty.
  struct Parts;
  Parts split() &&;
  // split()'s inverse: a stream again over the socket and the session taken from it (an
  // HTTPS connection upgraded to a WebSocket takes its TLS state along). Throws Error(EBADF)
  // for an empty session.
  static Stream join(net::Stream socket, Session session);

  struct Core;

 private:
  explicit Stream(std::unique_ptr<Core> core) noexcept;
  std::unique_ptr<Core> core_;
};

// A connection's TLS state without its socket (Stream::split): the same non-suspending reads
// and writes, given the socket on every call.
class Session {
 public:
  Session() noexcept;
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  long try_read(net::Stream& socket, std::span<char> buf) noexcept;
  long try_peek(net::Stream& socket, std::span<char> buf) noexcept;  // kept for the next read
  int write_nowait(net::Stream& socket, std::span<const char> bytes) noexcept;
  Task<void> write(net::Stream& socket, std::span<const char> bytes);
  void end(net::Stream& socket) noexcept;
  std::string_view alpn() const noexcept;
  std::string_view version() const noexcept;
  bool empty() const noexcept { return !core_; }

 private:
  friend class Stream;
  explicit Session(std::unique_ptr<Stream::Core> core) noexcept;
  std::unique_ptr<Stream::Core> core_;
};

struct Stream::Parts {
  net::Stream socket;
  Session session;
};

}  // namespace brigade::tls
