#pragma once
// Server: an HTTP/1.1 server on the loop (Node's http.Server).
//
//   http::Server server(loop, [](http::ServerRequest& req, http::ServerResponse& res) {
//     res.send("hello");
//   });
//   server.listen("127.0.0.1", 0);   // server.port() tells the port
//
// Keep-alive, pipelining (one request at a time per connection, answers in order), chunked
// bodies both ways, Expect: 100-continue (answered before the body is read; for a streamed
// body, see on_head, at the handler's first read), HEAD, Connection:
// close, a Date header cached once per second. Malformed requests get the parser's status
// (400/413/414/431/501/505) and the connection is closed; the handler never sees them.
//
// The handler is a plain callable: the response is done when it ends (res.send/end/json), which
// may be later (an App runs coroutine handlers this way). A handler that throws before ending
// gets a 500 and the connection stays usable. The request and response stay valid until the
// response has ended.
//
// Memory: an idle keep-alive connection holds no buffer. Bytes are read into an Exchange (read
// buffer, parser, request, response) taken from a per-server free list when data arrives and
// given back once the connection is idle again, so steady keep-alive traffic allocates nothing.
// The read buffer starts at 1 KiB and doubles as a head or a pipelined batch needs (up to
// max_header_size + 16 KiB), so a connection that sent a partial head costs about its bytes
// plus ~1 KiB; when the connection count falls well below its peak, the freed heap is given
// back to the system (malloc_trim), so a burst of slow clients leaves no lasting RSS.
// Timeouts (Node's defaults) use one loop timer per connection that is re-armed only when it
// fires: moving a deadline later costs nothing.
//
// HTTPS (Node's https.createServer): set ServerOptions::tls. Each accepted socket does its TLS
// handshake first (a coroutine, bounded by tls_handshake_timeout_ms), then becomes an ordinary
// connection whose reads and writes go through the TLS session (a Filter on its transport);
// everything above is the same. set_tls_context / reload_tls swap certificates for new
// connections without touching open ones.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "brigade/http/server_request.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/tls/context.hpp"

namespace brigade::http {

struct ServerOptions {
  std::size_t max_header_size = 16 * 1024;   // request line + headers: 431 beyond (Node's)
  std::size_t max_request_line = 0;          // request line alone: 414 beyond; 0: none (Node's)
  std::size_t max_headers = 100;             // header lines: 431 beyond
  uint64_t max_body_size = 8 * 1024 * 1024;  // buffered request body: 413 beyond (0: unlimited)
  uint64_t headers_timeout_ms = 60'000;      // first byte to end of head: 408 and close
  uint64_t request_timeout_ms = 300'000;     // first byte to end of body: 408 and close
  uint64_t keep_alive_timeout_ms = 5'000;    // idle between requests: close
  uint32_t max_requests_per_socket = 0;      // 0: unlimited; the last answer says Connection: close
  bool no_delay = true;                      // TCP_NODELAY (Node's default)
  int backlog = 511;
  bool reuse_port = false;  // SO_REUSEPORT (cluster's kernel mode)
  // HTTPS: set, every connection is TLS (certificate chain and key files, SNI certificates,
  // ALPN "http/1.1"); the files are read when the Server is made (a TlsError if they do not
  // load). A handshake that fails (plain HTTP, garbage, a refused certificate) or takes longer
  // than tls_handshake_timeout_ms closes the socket; no handler sees it.
  std::optional<tls::ServerOptions> tls;
  uint64_t tls_handshake_timeout_ms = 10'000;
};

struct ServerStats {
  std::size_t connections = 0;      // open now
  std::size_t active_requests = 0;  // handlers running (not ended)
  uint64_t requests = 0;            // responses completed
  uint64_t accepted = 0;            // connections accepted
  uint64_t bad_requests = 0;        // answered with a parser error
  uint64_t timeouts = 0;            // connections closed by headers/request timeouts
  uint64_t tls_failures = 0;        // TLS handshakes that failed or timed out
};

namespace detail {
struct ServerCore;
}

class Server {
 public:
  using Handler = UniqueFunction<void(ServerRequest&, ServerResponse&), 32>;
  // Runs when a request's head is parsed, before its body is read. Calling
  // req.stream_body(limit) there runs the handler at once with the body streamed (see
  // server_request.hpp); App::listen installs App::head_hook() when the app has stream routes.
  using HeadHook = UniqueFunction<void(ServerRequest&), 32>;

  Server(Loop& loop, Handler handler, ServerOptions options = {});
  ~Server();  // closes every connection at once (a handler still running finishes unseen)
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;

  // Binds and listens on a numeric address; port 0 picks a free one (see port()).
  void listen(std::string_view ip, uint16_t port);
  // Serves an existing listener (e.g. one adopted from a cluster primary).
  void listen(net::Listener listener);
  uint16_t port() const;  // 0 when not listening
  // Installs the head hook (before serving). With one, max_body_size is enforced by the
  // server for buffered bodies only; streamed bodies have the limit their hook gives.
  void on_head(HeadHook hook);
  // Serves one connection accepted elsewhere (a cluster worker is handed its connections).
  void adopt(net::Stream stream);

  // Graceful close: stops accepting, closes idle keep-alive connections now, lets requests in
  // flight finish (their answers say Connection: close) and then closes those connections.
  // `on_closed` runs once the last connection is gone. Idempotent.
  void close(Callback on_closed = {});
  // Closes every connection at once, in flight or not.
  void close_all_connections();
  bool closing() const noexcept;

  // HTTPS certificate reload: connections accepted from now on use `context`; open ones keep
  // the one they were accepted with (nothing is dropped).
  void set_tls_context(tls::Context context);
  // Re-reads options().tls's files into a new context (on SIGHUP, say). Throws TlsError and
  // keeps the current certificates if they do not load.
  void reload_tls();
  bool secure() const noexcept;  // serves HTTPS

  ServerStats stats() const noexcept;
  const ServerOptions& options() const noexcept;
  Loop& loop() const noexcept;

 private:
  std::unique_ptr<detail::ServerCore> core_;
};

}  // namespace brigade::http
