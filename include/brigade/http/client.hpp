#pragma once
// Client: a connection pool and its limits (undici's Agent), on one loop. fetch() uses a shared
// Client per loop; make one for other limits or default headers.
//
//   http::ClientOptions o;
//   o.max_connections_per_origin = 8;
//   o.default_headers.set("authorization", "Bearer ...");
//   http::Client api(loop, o);
//   http::Response res = co_await api.fetch("https://api.example.com/v1/items");
//
// Built on libcurl's multi-socket API driven by the loop: curl's sockets are loop I/O watches and
// its timer a loop timer; no thread of its own (the DNS resolver is curl's threaded one, so a
// lookup never blocks the loop). Connections are reused across requests (keep-alive, HTTP/2
// multiplexing over TLS), proxies come from the environment (http_proxy, no_proxy), and gzip,
// deflate, brotli and zstd bodies are decoded. A Client belongs to its loop's thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "brigade/http/fetch.hpp"
#include "brigade/loop/loop.hpp"

namespace brigade::http {

struct ClientOptions {
  long max_connections_per_origin = 0;    // 0: no limit (undici's `connections`); queued beyond
  long max_connections = 0;               // all origins together; 0: no limit
  uint64_t keep_alive_timeout_ms = 4000;  // an idle connection older than this is not reused
  uint64_t connect_timeout_ms = 10000;    // undici's connect timeout
  uint64_t timeout_ms = 0;                // default per request (FetchOptions::timeout_ms); 0: none
  std::size_t max_response_size = 0;      // decoded body bytes; 0: no limit
  std::size_t max_header_size = 16 * 1024;   // the final answer's status line and headers
  std::size_t body_buffer_size = 64 * 1024;  // per response: the transfer pauses above it
  FetchHeaders default_headers;              // sent unless a request sets the same name
  std::string user_agent = "brigade";
  // HTTPS: peers are verified against the system store (/etc/ssl/certs) and their host name,
  // unless ca_file names a PEM bundle to trust instead; cert_file/key_file: a client certificate.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

class Client {
 public:
  explicit Client(Loop& loop, ClientOptions options = ClientOptions());
  ~Client();  // requests in flight fail with FetchError(kClosed)
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Task<Response> fetch(std::string url, FetchOptions options = FetchOptions());

  // The loop's shared Client (made on first use, destroyed with the thread).
  static Client& shared(Loop& loop);

  Loop& loop() const noexcept { return loop_; }
  const ClientOptions& options() const noexcept { return options_; }
  std::size_t in_flight() const noexcept;

  struct Impl;
  Impl& impl() noexcept { return *impl_; }  // internal

 private:
  Loop& loop_;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace brigade::http
