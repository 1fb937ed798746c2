#pragma once
// fetch: Node's global fetch (undici) on brigade's loop, built on libcurl's multi-socket API.
//
//   http::FetchOptions o;                 // named: see "g++ 12" in the README
//   o.timeout_ms = 2000;
//   http::Response res = co_await http::fetch("http://127.0.0.1:8080/json", o);
//   if (!res.ok()) ...;                   // res.status(), res.headers().get("content-type")
//   nlohmann::json body = co_await res.json();
//
// fetch resolves once the final response's headers are in (after redirects); the body is read
// afterwards with text(), json() or read_chunk() (a stream: the transfer pauses while the reader
// is behind, so a slow reader holds one buffer, not the whole body).
//
// Errors: a stopped `signal` throws CancelledError (AbortError), a passed timeout TimeoutError,
// everything else (refused connection, DNS, a server closing mid-body, a redirect loop, a
// response over a size cap, a redirect with redirect = kError) FetchError with the reason.
// An HTTP error status is not an exception: check ok() or status(), as with fetch.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

class Client;

// Header fields in arrival order; names are matched ASCII case-insensitively.
class FetchHeaders {
 public:
  using Field = std::pair<std::string, std::string>;
  // The first value of `name`, or empty if there is none.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const;
  // Replaces every field named `name` with one (Headers.set).
  void set(std::string name, std::string value);
  void append(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  void remove(std::string_view name);
  const std::vector<Field>& fields() const noexcept { return fields_; }
  bool empty() const noexcept { return fields_.empty(); }
  void clear() noexcept { fields_.clear(); }

 private:
  std::vector<Field> fields_;
};

enum class Redirect : uint8_t {
  kFollow,  // follow up to max_redirects (POST becomes GET on 301/302/303, as fetch does)
  kError,   // a redirect answer fails with FetchError
  kManual,  // the 3xx answer itself is returned
};

struct FetchOptions {
  std::string method = "GET";
  FetchHeaders headers;  // over the client's default headers
  std::string body;      // sent as is (set a content-type header)
  // A request body streamed from a coroutine instead: called for each next piece, which is
  // sent before the next call; an empty piece ends the body. Sent chunked unless a
  // content-length header is set. A throw fails the fetch with that exception. It cannot be
  // replayed: a 307/308 redirect fails (as a streamed body does in fetch).
  std::function<Task<std::string>()> body_stream;
  Redirect redirect = Redirect::kFollow;
  int max_redirects = 20;   // undici's default
  uint64_t timeout_ms = 0;  // the whole exchange, body included; 0: the client's default
  std::stop_token signal;   // AbortSignal: stops the request or the body being read
};

class FetchError : public std::runtime_error {
 public:
  enum class Kind : uint8_t {
    kNetwork,   // connect, DNS, TLS, a peer that closed or reset mid-answer
    kRedirect,  // too many redirects, or any redirect with Redirect::kError
    kTooLarge,  // the body or the headers passed the client's cap
    kProtocol,  // a malformed answer
    kClosed,    // the Client was destroyed while the request was in flight
  };
  FetchError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

namespace detail {
struct Transfer;
}

class Response {
 public:
  Response() = default;
  explicit Response(std::shared_ptr<detail::Transfer> t) : t_(std::move(t)) {}
  Response(Response&&) noexcept = default;
  Response& operator=(Response&&) noexcept;
  ~Response();  // a body not read to the end is abandoned: the transfer is stopped

  int status() const noexcept;
  bool ok() const noexcept { return status() >= 200 && status() < 300; }
  const std::string& status_text() const noexcept;
  const FetchHeaders& headers() const noexcept;
  const std::string& url() const noexcept;  // after redirects
  bool redirected() const noexcept;

  class ChunkAwaiter;
  // The next piece of the body (everything that arrived since the last read); empty at the
  // end. One read at a time.
  ChunkAwaiter read_chunk();
  // The rest of the body.
  Task<std::string> text();
  Task<nlohmann::json> json();  // throws nlohmann::json::parse_error on a malformed body

 private:
  std::shared_ptr<detail::Transfer> t_;
};

class Response::ChunkAwaiter {
 public:
  explicit ChunkAwaiter(std::shared_ptr<detail::Transfer> t) : t_(std::move(t)) {}
  ChunkAwaiter(ChunkAwaiter&& o) noexcept : t_(std::move(o.t_)) {}  // before await_suspend only
  ChunkAwaiter(const ChunkAwaiter&) = delete;
  ~ChunkAwaiter();
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  std::string await_resume();

 private:
  std::shared_ptr<detail::Transfer> t_;
  std::coroutine_handle<> handle_;
  bool suspended_ = false;
};

// fetch on the current loop's shared Client (one per loop, made on first use: in a worker, the
// worker's loop has its own).
Task<Response> fetch(std::string url, FetchOptions options = FetchOptions());

}  // namespace brigade::http
